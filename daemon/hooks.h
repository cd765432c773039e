#ifndef HOOKS_H
#define HOOKS_H

/*
 * hooks: a repository that kstage serves, for "git push".
 *
 *   kstage repo init PATH --url URL [--token TOKEN]
 *       makes (or re-initialises) a bare repository at PATH with libgit2
 *       and installs two hooks.  Their text is fixed: the settings are in
 *       the repository's config (kstage.url, kstage.binary) and the token
 *       in PATH/kstage-token (mode 0600), never in a script.
 *   kstage hook post-receive
 *       (run by git after a push) tells the daemon to look at the
 *       branches now, so runs start within a second of the push.
 *   kstage hook pre-receive
 *       (run by git before it takes a push) refuses a push to the
 *       integration branch of any plan on this repository unless the new
 *       head is tested green (POST .../gate/check); the reason names the
 *       stage, its verdict and its failing tests.  When the daemon cannot
 *       be asked, such a push is refused too; other refs pass.
 *
 * Both return the exit status: 0, 1 (refused or failed), 2 (usage).
 */

int cmd_repo(int argc, char **argv);
int cmd_hook(int argc, char **argv);

#endif
