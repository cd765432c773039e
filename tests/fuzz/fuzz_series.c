/*
 * fuzz_series: series_pick() (series.h) on sets of mails made up from
 * the input, within what mbox_read() can return (versions 1..999, m/n
 * with m <= n, replies, mails without a diff), four bytes a mail:
 *
 *   byte 0  version (1 + byte % 4)
 *   byte 1  m of m/n
 *   byte 2  n of m/n (0: not numbered; m is then 0 too)
 *   byte 3  flags: 1 reply, 2 has a diff, 4 base-commit, 8 Message-ID,
 *           16 the diff differs from the other copies of patch m
 *
 * The pick is the newest complete version in m/n order, or an error
 * with a reason.
 */
#include <string.h>

#include "fuzz.h"
#include "series.h"

#define MAX_MAILS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct patch_mail mails[MAX_MAILS];
	char diffs[MAX_MAILS][32], titles[MAX_MAILS][16];
	struct strbuf err = STRBUF_INIT;
	struct series s;
	size_t nr = 0, i, j;

	memset(mails, 0, sizeof(mails));
	for (i = 0; i + 4 <= size && nr < MAX_MAILS; i += 4, nr++) {
		struct patch_mail *m = &mails[nr];
		unsigned total = data[i + 2] % 9, flags = data[i + 3];

		m->index = nr;
		m->version = 1 + data[i] % 4;
		m->total = total;
		m->number = total ? data[i + 1] % (total + 1) : 0;
		m->is_reply = flags & 1;
		snprintf(diffs[nr], sizeof(diffs[nr]), "diff --git a/%u b/%u%s",
			 m->number, m->number, flags & 16 ? " x" : "");
		m->diff = flags & 2 ? diffs[nr] : NULL;
		m->base_commit = flags & 4 ? "57c2c551d92294841cd6fe23e478176de1316594" : NULL;
		m->message_id = flags & 8 ? "1@example.com" : NULL;
		snprintf(titles[nr], sizeof(titles[nr]), "t%zu", nr);
		m->title = m->subject = titles[nr];
		m->author_name = m->author_email = m->message = "";
	}
	if (series_pick(&s, mails, nr, &err) == 0) {
		unsigned newest = 0;

		fuzz_check(s.nr >= 1 && s.patches && s.title);
		fuzz_check(!s.total || s.nr == s.total);
		for (i = 0; i < s.nr; i++) {
			fuzz_check(s.patches[i]->diff && !s.patches[i]->is_reply);
			fuzz_check(s.patches[i]->version == s.version);
			fuzz_check(!s.total || s.patches[i]->number == i + 1);
			for (j = 0; j < i; j++)
				fuzz_check(s.patches[j] != s.patches[i]);
		}
		/* A newer version was passed over only with a note saying why. */
		for (i = 0; i < nr; i++)
			if (mails[i].diff && !mails[i].is_reply && mails[i].version > newest)
				newest = mails[i].version;
		fuzz_check(newest == s.version || s.note != NULL);
		series_release(&s);
	} else {
		fuzz_check(err.len > 0);
	}
	strbuf_release(&err);
	return 0;
}
