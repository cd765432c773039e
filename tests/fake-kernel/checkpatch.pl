#!/usr/bin/perl
# A STAND-IN for the kernel's scripts/checkpatch.pl, for the fake kernel's
# trees (tests/fake-kernel/README.md): it prints checkpatch's real output
# format, not its judgement.  Tests commit it as scripts/checkpatch.pl;
# jobs/checkpatch runs it as it runs the real one ("--git COMMIT", with
# GIT_DIR set).  What it reports, in the added lines of the commit's diff:
#   a line over 100 columns   WARNING: line length of N exceeds 100 columns
#   trailing blanks           ERROR: trailing whitespace
# then "total: E errors, W warnings, N lines checked" and the verdict line.
# Exit status 1 when it reported something, as checkpatch does.
use strict;
use warnings;

my $commit;
while (@ARGV) {
	my $a = shift @ARGV;
	if ($a eq '--git') { $commit = shift @ARGV; }
}
die "usage: checkpatch.pl --git COMMIT\n" unless defined $commit && $commit =~ /^[0-9a-f]{4,40}$/;

open(my $log, '-|', 'git', 'log', '-1', '--format=%h %s', '--abbrev=12', $commit) or die "git: $!\n";
my $head = <$log> // die "no commit $commit\n";
close($log);
chomp $head;
my ($short, $subject) = split(/ /, $head, 2);
open(my $diff, '-|', 'git', 'format-patch', '-1', '--stdout', $commit) or die "git: $!\n";
my ($errors, $warnings, $lines, $n, $file, $fline) = (0, 0, 0, 0, '', 0);
while (my $l = <$diff>) {
	chomp $l;
	$n++;
	if ($l =~ m{^\+\+\+ b/(.*)}) { $file = $1; next; }
	if ($l =~ /^@@ -\d+(?:,\d+)? \+(\d+)/) { $fline = $1; next; }
	next unless $file ne '' && $l =~ /^[+ ]/;
	if ($l =~ /^\+/) {
		$lines++;
		my $text = substr($l, 1);
		if (length($text) > 100) {
			printf "WARNING: line length of %d exceeds 100 columns\n#%d: FILE: %s:%d:\n%s\n\n",
				length($text), $n, $file, $fline, $l;
			$warnings++;
		}
		if ($text =~ /[ \t]$/) {
			printf "ERROR: trailing whitespace\n#%d: FILE: %s:%d:\n%s\$\n\n", $n, $file, $fline, $l;
			$errors++;
		}
	}
	$fline++;
}
close($diff);
print "total: $errors errors, $warnings warnings, $lines lines checked\n\n";
if ($errors || $warnings) {
	print "Commit $short (\"$subject\") has style problems, please review.\n";
	exit 1;
}
print "Commit $short (\"$subject\") has no obvious style problems and is ready for submission.\n";
exit 0;
