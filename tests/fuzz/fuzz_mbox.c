/*
 * fuzz_mbox: mbox_read() on anything (mbox.h), then series_pick()
 * (series.h) on what it read: either an error with a reason, or mails
 * with the fields the header promises, and a series made of them.
 */
#include <string.h>

#include "fuzz.h"
#include "mbox.h"
#include "series.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct patch_mail *mails = NULL;
	struct strbuf err = STRBUF_INIT;
	struct series s;
	size_t nr = 0, i;

	if (mbox_read(&mails, &nr, (const char *)data, size, &err) < 0) {
		fuzz_check(err.len > 0);
		fuzz_check(mails == NULL);
		strbuf_release(&err);
		return 0;
	}
	fuzz_check(nr >= 1 && nr <= MBOX_MAX_MAILS);
	for (i = 0; i < nr; i++) {
		const struct patch_mail *m = &mails[i];

		fuzz_check(m->index == i);
		fuzz_check(m->author_name && m->author_email && m->subject);
		fuzz_check(m->title && m->message);
		fuzz_check(!strchr(m->title, '\n'));
		fuzz_check(m->version >= 1);
		fuzz_check(m->number <= m->total && m->total <= MBOX_MAX_MAILS);
	}
	strbuf_reset(&err);
	if (series_pick(&s, mails, nr, &err) == 0) {
		fuzz_check(s.nr >= 1 && s.patches && s.title);
		for (i = 0; i < s.nr; i++) {
			fuzz_check(s.patches[i]->diff && !s.patches[i]->is_reply);
			fuzz_check(s.patches[i]->version == s.version);
			fuzz_check(!s.total || s.patches[i]->number == i + 1);
		}
		series_release(&s);
	} else {
		fuzz_check(err.len > 0);
	}
	strbuf_release(&err);
	mbox_free(mails, nr);
	return 0;
}
