/*
 * Unit tests for daemon/console.c: the boot verdict from a serial console
 * log.  The sample-boot-* fixtures are real console logs of a 6.12 kernel;
 * the boot-* fixtures add kernel splats in the shape 6.12 prints them.
 */
#include "unit.h"

#include "console.h"

#define FIXTURE(name) SRCDIR "/tests/fixtures/" name

static void classify_file(struct console_verdict *v, const char *path,
			  const char *marker, int timed_out)
{
	size_t len;
	char *buf = unit_load(path, &len);

	console_classify(v, buf, len, marker, timed_out);
	free(buf);
}

static void classify_str(struct console_verdict *v, const char *s,
			 const char *marker, int timed_out)
{
	console_classify(v, s, strlen(s), marker, timed_out);
}

static enum boot_verdict verdict_of(const char *s)
{
	struct console_verdict v;

	classify_str(&v, s, NULL, 0);
	return v.verdict;
}

static int has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static int clean_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n, cp, i;

		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4, cp = c & 0x07;
		else
			return 0;
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		p += n;
	}
	return 1;
}

static void check_sane(const struct console_verdict *v)
{
	size_t i;

	assert_true((unsigned)v->verdict < BOOT_VERDICT_COUNT);
	assert_true(v->nr_events <= CONSOLE_MAX_EVENTS);
	assert_true(memchr(v->text, '\0', CONSOLE_MAX_TEXT) != NULL);
	assert_true(clean_utf8(v->text));
	assert_true(v->line <= v->lines);
	assert_true(v->end_marker_line <= v->lines);
	for (i = 0; i < v->nr_events; i++) {
		const struct console_event *e = &v->events[i];

		assert_true(memchr(e->text, '\0', CONSOLE_MAX_TEXT) != NULL);
		assert_true(clean_utf8(e->text));
		assert_true(e->line >= 1 && e->line <= v->lines);
		assert_true(e->kind > BOOT_CLEAN && (unsigned)e->kind < BOOT_VERDICT_COUNT);
		assert_true(e->kind <= v->verdict || v->verdict == BOOT_TIMEOUT);
		if (i)
			assert_true(e->line >= v->events[i - 1].line);
	}
}

static void junk(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

/* ---- names ------------------------------------------------------------ */

static void test_verdict_names(void **state)
{
	enum boot_verdict v;
	int i;

	for (i = 0; i < BOOT_VERDICT_COUNT; i++) {
		assert_int_equal(boot_verdict_parse(&v, boot_verdict_name(i)), 0);
		assert_int_equal(v, i);
	}
	assert_string_equal(boot_verdict_name(BOOT_CLEAN), "clean");
	assert_string_equal(boot_verdict_name(BOOT_KASAN), "kasan");
	assert_string_equal(boot_verdict_name(BOOT_PANIC), "panic");
	assert_int_equal(boot_verdict_parse(&v, "Panic"), -1);
	assert_int_equal(boot_verdict_parse(&v, ""), -1);
	assert_int_equal(boot_verdict_parse(&v, NULL), -1);
	/* the order is the severity */
	assert_true(BOOT_PANIC > BOOT_KASAN && BOOT_KASAN > BOOT_OOPS &&
		    BOOT_OOPS > BOOT_BUG && BOOT_BUG > BOOT_TIMEOUT &&
		    BOOT_TIMEOUT > BOOT_HUNG && BOOT_HUNG > BOOT_WARNING &&
		    BOOT_WARNING > BOOT_CLEAN);
}

/* ---- the real console logs ------------------------------------------ */

static void test_samples_clean(void **state)
{
	struct console_verdict v;

	classify_file(&v, FIXTURE("sample-boot-memmap-tcg.log"), "KCI-DONE", 0);
	check_sane(&v);
	assert_int_equal(v.verdict, BOOT_CLEAN);
	assert_int_equal(v.end_marker_line, 279);
	assert_int_equal(v.lines, 280);
	/* "page dumped because: gup_test: dump_pages() test" is no event */
	assert_int_equal(v.nr_events, 0);
	assert_int_equal(v.dropped_events, 0);
	assert_int_equal(v.line, 0);
	assert_string_equal(v.text, "");

	classify_file(&v, FIXTURE("sample-boot-memmap-thp-always.log"), "KCI-DONE", 0);
	check_sane(&v);
	/* failing tests are ktap's business, not a boot problem */
	assert_int_equal(v.verdict, BOOT_CLEAN);
	assert_int_equal(v.end_marker_line, 290);
	assert_int_equal(v.lines, 291);
	assert_int_equal(v.nr_events, 0);
}

static void test_samples_hung_timeout(void **state)
{
	struct console_verdict v;

	/* our init prints KSTAGE-DONE; these logs never did */
	classify_file(&v, FIXTURE("sample-boot-memmap-tcg.log"), "KSTAGE-DONE", 0);
	check_sane(&v);
	assert_int_equal(v.verdict, BOOT_HUNG);
	assert_int_equal(v.end_marker_line, 0);
	assert_int_equal(v.line, 0);
	assert_string_equal(v.text, "");

	classify_file(&v, FIXTURE("sample-boot-memmap-thp-always.log"), "KSTAGE-DONE", 0);
	assert_int_equal(v.verdict, BOOT_HUNG);

	classify_file(&v, FIXTURE("sample-boot-memmap-tcg.log"), "KSTAGE-DONE", 1);
	check_sane(&v);
	assert_int_equal(v.verdict, BOOT_TIMEOUT);
	/* killed at the timeout even though the marker made it out */
	classify_file(&v, FIXTURE("sample-boot-memmap-thp-always.log"), "KCI-DONE", 1);
	assert_int_equal(v.verdict, BOOT_TIMEOUT);
	assert_int_equal(v.end_marker_line, 290);

	/* no marker expected: a missing one is nothing */
	classify_file(&v, FIXTURE("sample-boot-memmap-tcg.log"), NULL, 0);
	assert_int_equal(v.verdict, BOOT_CLEAN);
	assert_int_equal(v.end_marker_line, 0);
	classify_file(&v, FIXTURE("sample-boot-memmap-tcg.log"), "", 0);
	assert_int_equal(v.verdict, BOOT_CLEAN);
}

/* ---- kernel splats ------------------------------------------------------ */

static void test_oops_then_panic(void **state)
{
	struct console_verdict v;

	classify_file(&v, FIXTURE("boot-oops-panic-mid-test.log"), "KCI-DONE", 1);
	check_sane(&v);
	assert_int_equal(v.verdict, BOOT_PANIC);
	assert_int_equal(v.line, 133);
	assert_true(has_prefix(v.text, "[    3.423742] Kernel panic - not syncing: Fatal exception"));
	/* the "---[ end Kernel panic" trailer is not a second panic */
	assert_int_equal(v.nr_events, 2);
	assert_int_equal(v.events[0].kind, BOOT_OOPS);
	assert_int_equal(v.events[0].line, 89);
	assert_true(has_prefix(v.events[0].text,
			       "[    3.412087] Oops: general protection fault, probably for non-canonical address"));
	assert_int_equal(v.events[1].kind, BOOT_PANIC);
	assert_int_equal(v.events[1].line, 133);
	assert_int_equal(v.lines, 135);
	assert_int_equal(v.end_marker_line, 0);
}

static void test_kasan(void **state)
{
	struct console_verdict v;

	classify_file(&v, FIXTURE("boot-kasan.log"), "KCI-DONE", 0);
	check_sane(&v);
	/* the marker came, but a KASAN report is worse than anything short of a panic */
	assert_int_equal(v.end_marker_line, 74);
	assert_int_equal(v.verdict, BOOT_KASAN);
	assert_int_equal(v.line, 26);
	assert_non_null(strstr(v.text, "BUG: KASAN: slab-use-after-free in dmirror_fops_release"));
	assert_int_equal(v.nr_events, 1);

	assert_int_equal(verdict_of("[    4.1] BUG: KFENCE: out-of-bounds read in test_alloc+0x1/0x2\n"), BOOT_KASAN);
	assert_int_equal(verdict_of("[    4.100000] UBSAN: array-index-out-of-bounds in mm/memory.c:42:7\n"), BOOT_KASAN);
}

static void test_warning(void **state)
{
	struct console_verdict v;

	classify_file(&v, FIXTURE("boot-warning.log"), "KCI-DONE", 0);
	check_sane(&v);
	assert_int_equal(v.verdict, BOOT_WARNING);
	assert_int_equal(v.end_marker_line, 50);
	assert_int_equal(v.line, 17);
	assert_string_equal(v.text,
			    "[    1.521230] WARNING: CPU: 0 PID: 1 at mm/memremap.c:200 memremap_pages+0x5f3/0x7a0");
	/* "# WARNING: something looks slow" from a test is no event */
	assert_int_equal(v.nr_events, 1);
	assert_int_equal(v.events[0].kind, BOOT_WARNING);

	/* and missing the marker makes it hung, which is worse */
	classify_file(&v, FIXTURE("boot-warning.log"), "KSTAGE-DONE", 0);
	assert_int_equal(v.verdict, BOOT_HUNG);
	assert_int_equal(v.nr_events, 1);

	assert_int_equal(verdict_of("WARNING: at mm/gup.c:1234 foo+0x1/0x2()\n"), BOOT_WARNING);
}

static void test_hung_task(void **state)
{
	struct console_verdict v;

	classify_file(&v, FIXTURE("boot-hung-task.log"), "KCI-DONE", 0);
	check_sane(&v);
	assert_int_equal(v.verdict, BOOT_HUNG);
	/* this time an event decided it */
	assert_int_equal(v.line, 25);
	assert_true(has_prefix(v.text, "[  245.123456] INFO: task hmm-tests:301 blocked for more than 122 seconds."));
	assert_int_equal(v.nr_events, 1);

	classify_file(&v, FIXTURE("boot-hung-task.log"), "KCI-DONE", 1);
	assert_int_equal(v.verdict, BOOT_TIMEOUT);
	assert_int_equal(v.line, 0);
	assert_int_equal(v.nr_events, 1);

	/* a hung task report with a clean end is still hung */
	classify_str(&v, "INFO: task kworker/0:1:12 blocked for more than 120 seconds.\nKCI-DONE\n",
		     "KCI-DONE", 0);
	assert_int_equal(v.verdict, BOOT_HUNG);
	assert_int_equal(v.line, 1);
	assert_int_equal(v.end_marker_line, 2);

	assert_int_equal(verdict_of("[   60.1] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:\n"), BOOT_HUNG);
	assert_int_equal(verdict_of("[   60.1] rcu: INFO: rcu_preempt self-detected stall on CPU\n"), BOOT_HUNG);
	assert_int_equal(verdict_of("INFO: rcu_sched detected stalls on CPUs/tasks: { 1} (t=21000 jiffies)\n"), BOOT_HUNG);
	/* a task that is not blocked is no report */
	assert_int_equal(verdict_of("[   60.1] INFO: task hmm-tests:301 exited\n"), BOOT_CLEAN);
	assert_int_equal(verdict_of("[   60.1] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [hmm-tests:301]\n"), BOOT_BUG);
}

/* One line each, with and without the prefixes the kernel may put in front. */
static void test_line_forms(void **state)
{
	static const struct {
		const char *line;
		enum boot_verdict want;
	} cases[] = {
		{ "Kernel panic - not syncing: Fatal exception", BOOT_PANIC },
		{ "[    3.423742] Kernel panic - not syncing: Fatal exception", BOOT_PANIC },
		{ "<0>[    3.423742] Kernel panic - not syncing: VFS: Unable to mount root fs", BOOT_PANIC },
		{ "<0>Kernel panic - not syncing: Attempted to kill init!", BOOT_PANIC },
		{ "[    3.423742][    T1] Kernel panic - not syncing: Fatal exception", BOOT_PANIC },
		{ "Oops: general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI", BOOT_OOPS },
		{ "[    5.1] Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI", BOOT_OOPS },
		{ "general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] SMP", BOOT_OOPS },
		{ "BUG: kernel NULL pointer dereference, address: 0000000000000008", BOOT_OOPS },
		{ "[    5.123456] BUG: kernel NULL pointer dereference, address: 0000000000000008", BOOT_OOPS },
		{ "[    5.123456] BUG: unable to handle page fault for address: ffffea0000000008", BOOT_OOPS },
		{ "kernel BUG at mm/memory.c:123!", BOOT_BUG },
		{ "[    7.000001] kernel BUG at mm/memory.c:123!", BOOT_BUG },
		{ "<4>[    7.000001] BUG: sleeping function called from invalid context at mm/gup.c:1234", BOOT_BUG },
		{ "BUG: Bad page state in process hmm-tests  pfn:1a2b3", BOOT_BUG },
		{ "BUG: KASAN: use-after-free in folio_put+0x1/0x2", BOOT_KASAN },
		{ "[    9.876600] WARNING: CPU: 0 PID: 1 at mm/memremap.c:200 memremap_pages+0x5f3/0x7a0", BOOT_WARNING },
		{ "<4>WARNING: CPU: 1 PID: 245 at mm/huge_memory.c:2900 split_huge_pmd_locked+0x1/0x2", BOOT_WARNING },
		/* the first kernel line of a boot, behind the BIOS's escapes */
		{ "Booting from ROM...\x1b" "c\x1b[?7l\x1b[2J[    0.000000] WARNING: CPU: 0 PID: 0 at arch/x86/kernel/x.c:1 f+0x0/0x1", BOOT_WARNING },
		/* a test's output that got a kernel message glued to it */
		{ "# GUP_FAST_BENCHMARK: Time: get:1 put:2 us# [    8.1] BUG: Bad page map in process gup_test", BOOT_BUG },
		/* mere words: test output, not kernel messages */
		{ "# WARNING: something", BOOT_CLEAN },
		{ "#  WARNING: CPU: 0 PID: 1 at x", BOOT_CLEAN },
		{ "[    8.148200] page dumped because: gup_test: dump_pages() test", BOOT_CLEAN },
		{ "ok 1 BUG: test name", BOOT_CLEAN },
		{ "not ok 3 Oops: test name", BOOT_CLEAN },
		{ "KCI: dmesg grep for BUG: none", BOOT_CLEAN },
		{ "[    1.0] ACPI: BUG: not really", BOOT_CLEAN },
		{ "[    3.424260] ---[ end Kernel panic - not syncing: Fatal exception ]---", BOOT_CLEAN },
		{ "[    1.522900] ---[ end trace 0000000000000000 ]---", BOOT_CLEAN },
		{ "[    1.521201] ------------[ cut here ]------------", BOOT_CLEAN },
		{ "WARNING:CPU: no space", BOOT_CLEAN },
		{ "[ 1.0 ] WARNING: CPU: 0 PID: 1 at x", BOOT_CLEAN },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		enum boot_verdict got = verdict_of(cases[i].line);

		if (got != cases[i].want)
			fail_msg("\"%s\": %s, expected %s", cases[i].line,
				 boot_verdict_name(got), boot_verdict_name(cases[i].want));
	}
}

static void test_worst_wins(void **state)
{
	struct console_verdict v;

	classify_str(&v,
		     "[    1.0] WARNING: CPU: 0 PID: 1 at a.c:1 f+0x0/0x1\n"
		     "booting\r\n"
		     "[    2.0] BUG: sleeping function called from invalid context at b.c:2\n"
		     "[    3.0] BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
		     "[    3.1] #PF: supervisor read access in kernel mode\n"
		     "[    3.2] Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
		     "[    4.0] WARNING: CPU: 1 PID: 2 at c.c:3 g+0x0/0x1\n"
		     "KCI-DONE result=0\n"
		     "[    5.0] BUG: sleeping function called from invalid context at d.c:4", /* no newline */
		     "KCI-DONE", 0);
	check_sane(&v);
	assert_int_equal(v.verdict, BOOT_OOPS);
	/* the first event of the worst kind decides */
	assert_int_equal(v.line, 4);
	assert_true(has_prefix(v.text, "[    3.0] BUG: kernel NULL pointer dereference"));
	assert_int_equal(v.lines, 9);
	assert_int_equal(v.end_marker_line, 8);
	assert_int_equal(v.nr_events, 6);
	assert_int_equal(v.events[0].kind, BOOT_WARNING);
	assert_int_equal(v.events[0].line, 1);
	assert_int_equal(v.events[1].kind, BOOT_BUG);
	assert_int_equal(v.events[1].line, 3);
	assert_int_equal(v.events[2].kind, BOOT_OOPS);
	assert_int_equal(v.events[2].line, 4);
	assert_int_equal(v.events[3].kind, BOOT_OOPS);
	assert_int_equal(v.events[3].line, 6);
	assert_int_equal(v.events[4].kind, BOOT_WARNING);
	assert_int_equal(v.events[4].line, 7);
	assert_int_equal(v.events[5].kind, BOOT_BUG);
	assert_int_equal(v.events[5].line, 9);
	/* events after the marker count: a crash at power-off is a crash */
	classify_str(&v, "KCI-DONE\n[ 9.0] Kernel panic - not syncing: x\n", "KCI-DONE", 0);
	assert_int_equal(v.verdict, BOOT_PANIC);
	assert_int_equal(v.line, 2);
}

static void test_event_overflow(void **state)
{
	struct console_verdict v;
	char *buf = malloc(64 * 100 + 128);
	size_t len = 0;
	int i;

	assert_non_null(buf);
	for (i = 0; i < 40; i++)
		len += (size_t)snprintf(buf + len, 100, "[   %2d.000000] WARNING: CPU: 0 PID: 1 at a.c:%d f+0x0/0x1\n", i, i);
	len += (size_t)snprintf(buf + len, 100, "[   41.000000] Kernel panic - not syncing: Fatal exception\n");
	console_classify(&v, buf, len, "KCI-DONE", 0);
	check_sane(&v);
	assert_int_equal(v.verdict, BOOT_PANIC);
	assert_int_equal(v.line, 41);
	assert_int_equal(v.nr_events, CONSOLE_MAX_EVENTS);
	assert_int_equal(v.dropped_events, 41 - CONSOLE_MAX_EVENTS);
	/* the panic is kept, in order, in place of the latest warning */
	assert_int_equal(v.events[0].line, 1);
	assert_int_equal(v.events[CONSOLE_MAX_EVENTS - 2].line, CONSOLE_MAX_EVENTS - 1);
	assert_int_equal(v.events[CONSOLE_MAX_EVENTS - 1].kind, BOOT_PANIC);
	assert_int_equal(v.events[CONSOLE_MAX_EVENTS - 1].line, 41);
	free(buf);
}

/* ---- bad input --------------------------------------------------------- */

static void test_empty(void **state)
{
	struct console_verdict v;

	console_classify(&v, "", 0, "KCI-DONE", 0);
	check_sane(&v);
	assert_int_equal(v.verdict, BOOT_HUNG);
	assert_int_equal(v.lines, 0);
	console_classify(&v, NULL, 0, NULL, 0);
	assert_int_equal(v.verdict, BOOT_CLEAN);
	assert_int_equal(v.lines, 0);
	console_classify(&v, NULL, 0, NULL, 1);
	assert_int_equal(v.verdict, BOOT_TIMEOUT);

	classify_str(&v, "a\nb", NULL, 0);
	assert_int_equal(v.lines, 2);
	classify_str(&v, "a\nb\n", NULL, 0);
	assert_int_equal(v.lines, 2);
	classify_str(&v, "\n", NULL, 0);
	assert_int_equal(v.lines, 1);
	/* the marker is a line prefix, not a word anywhere */
	classify_str(&v, "echo KCI-DONE\n", "KCI-DONE", 0);
	assert_int_equal(v.verdict, BOOT_HUNG);
	classify_str(&v, "\x1b[0m  KCI-DONE result=0\r\n", "KCI-DONE", 0);
	assert_int_equal(v.verdict, BOOT_CLEAN);
	assert_int_equal(v.end_marker_line, 1);
}

static void test_garbage(void **state)
{
	struct console_verdict v;
	size_t len = 4 << 20, i;
	unsigned char *buf = malloc(len + 64);
	uint32_t seed;

	assert_non_null(buf);
	for (seed = 1; seed <= 3; seed++) {
		junk(buf, len, seed);
		console_classify(&v, (char *)buf, len, "KCI-DONE", 0);
		check_sane(&v);
	}

	/* a splat among the junk is still found, with its line */
	junk(buf, len, 9);
	for (i = 0; i < len; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	{
		static const char s[] = "\n[   12.0] kernel BUG at mm/memory.c:123!\xff\xfe\x01 tail\n";

		memcpy(buf + 100000, s, sizeof(s) - 1);
	}
	console_classify(&v, (char *)buf, len, "KCI-DONE", 0);
	check_sane(&v);
	assert_int_equal(v.verdict, BOOT_BUG);
	assert_int_equal(v.line, 2);
	assert_int_equal(v.lines, 3);
	assert_string_equal(v.text, "[   12.0] kernel BUG at mm/memory.c:123!??? tail");
	free(buf);
}

static void test_long_line(void **state)
{
	struct console_verdict v;
	size_t len = 10 << 20;
	char *buf = malloc(len);
	static const char start[] = "[    1.0] Kernel panic - not syncing: ";

	assert_non_null(buf);
	memset(buf, 'x', len);
	memcpy(buf, start, sizeof(start) - 1);
	/* a two-byte character across the text limit is not split */
	memcpy(buf + CONSOLE_MAX_TEXT - 2, "\xc3\xa9", 2);
	console_classify(&v, buf, len, NULL, 0);
	check_sane(&v);
	assert_int_equal(v.verdict, BOOT_PANIC);
	assert_int_equal(v.lines, 1);
	assert_int_equal(strlen(v.text), CONSOLE_MAX_TEXT - 2);
	assert_true(has_prefix(v.text, start));

	/* only the start of a huge line is looked at */
	memset(buf, 'x', len);
	memcpy(buf + len - 40, "[ 1.0] Kernel panic - not syncing: late", 39);
	console_classify(&v, buf, len, NULL, 0);
	assert_int_equal(v.verdict, BOOT_CLEAN);
	free(buf);
}

/* The stream gives the whole-buffer verdict however the console is cut up. */
static void check_stream(const char *buf, size_t len, size_t piece, const char *marker,
			 int timed_out)
{
	struct console_verdict whole, parts;
	struct console_stream *st;
	size_t pos, i;

	console_classify(&whole, buf, len, marker, timed_out);
	st = console_stream_new(&parts, marker);
	for (pos = 0; pos < len; pos += piece)
		console_stream_feed(st, buf + pos, len - pos < piece ? len - pos : piece);
	console_stream_end(st, timed_out);
	assert_int_equal(parts.verdict, whole.verdict);
	assert_int_equal(parts.end_marker_line, whole.end_marker_line);
	assert_int_equal(parts.lines, whole.lines);
	assert_int_equal(parts.line, whole.line);
	assert_string_equal(parts.text, whole.text);
	assert_int_equal(parts.nr_events, whole.nr_events);
	assert_int_equal(parts.dropped_events, whole.dropped_events);
	for (i = 0; i < whole.nr_events; i++) {
		assert_int_equal(parts.events[i].kind, whole.events[i].kind);
		assert_int_equal(parts.events[i].line, whole.events[i].line);
		assert_string_equal(parts.events[i].text, whole.events[i].text);
	}
}

static void test_stream_equals_whole(void **state)
{
	static const char *const fixtures[] = {
		"boot-hung-task.log", "boot-kasan.log", "boot-oops-panic-mid-test.log",
		"boot-warning.log", "sample-boot-memmap-tcg.log",
		"sample-boot-memmap-thp-always.log",
	};
	static const size_t pieces[] = { 1, 5, 4095, 65536 };
	char path[256], *buf;
	size_t len, i, k;

	(void)state;
	for (i = 0; i < sizeof(fixtures) / sizeof(*fixtures); i++) {
		snprintf(path, sizeof(path), SRCDIR "/tests/fixtures/%s", fixtures[i]);
		buf = unit_load(path, &len);
		for (k = 0; k < sizeof(pieces) / sizeof(*pieces); k++) {
			check_stream(buf, len, pieces[k], "KSTAGE-DONE", 0);
			check_stream(buf, len, pieces[k], NULL, 1);
		}
		check_stream(buf, len - 1, 3, "KSTAGE-DONE", 0);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict_names),
		cmocka_unit_test(test_samples_clean),
		cmocka_unit_test(test_samples_hung_timeout),
		cmocka_unit_test(test_oops_then_panic),
		cmocka_unit_test(test_kasan),
		cmocka_unit_test(test_warning),
		cmocka_unit_test(test_hung_task),
		cmocka_unit_test(test_line_forms),
		cmocka_unit_test(test_worst_wins),
		cmocka_unit_test(test_stream_equals_whole),
		cmocka_unit_test(test_event_overflow),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
