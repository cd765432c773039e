/*
 * Unit tests of the mail reader (mbox.c) and of picking a series from the
 * mails (series_pick() in series.c): real "git format-patch" output (a
 * demo patch), subjects, RFC 2047 headers, quoted-printable and base64
 * bodies in other charsets, attachments, in-body headers, mboxrd quoting,
 * CRLF, and inputs that are not mail at all.
 */
#include "unit.h"

#include "mbox.h"
#include "series.h"
#include "strbuf.h"

static const char demo_patch[] =
	"configs/demo/101-lib-test_hmm-count-pages-migrated-to-and-from-device-memory.patch";

static struct patch_mail *read_ok(const char *text, size_t *nr)
{
	struct strbuf err = STRBUF_INIT;
	struct patch_mail *m = NULL;

	if (mbox_read(&m, nr, text, strlen(text), &err) < 0)
		fail_msg("mbox_read: %s", err.buf);
	strbuf_release(&err);
	return m;
}

static void read_fails(const char *text, size_t len, const char *want)
{
	struct strbuf err = STRBUF_INIT;
	struct patch_mail *m = NULL;
	size_t nr = 99;

	assert_int_equal(mbox_read(&m, &nr, text, len, &err), -1);
	assert_null(m);
	assert_int_equal(nr, 0);
	if (!strstr(err.buf, want))
		fail_msg("error \"%s\" does not say \"%s\"", err.buf, want);
	strbuf_release(&err);
}

static void test_format_patch(void **state)
{
	struct strbuf file = STRBUF_INIT;
	struct patch_mail *m;
	size_t nr;

	(void)state;
	assert_int_equal(strbuf_read_file(&file, demo_patch, 1 << 20), 0);
	m = read_ok(file.buf, &nr);
	assert_int_equal(nr, 1);
	assert_string_equal(m->author_name, "Ana Petrova");
	assert_string_equal(m->author_email, "ana.petrova@example.org");
	assert_true(m->has_date);
	assert_int_equal(m->date, 1735693200);	/* Wed, 1 Jan 2025 01:00:00 +0000 */
	assert_int_equal(m->tz_minutes, 0);
	assert_string_equal(m->title,
			    "lib/test_hmm: count pages migrated to and from device memory");
	assert_int_equal(m->version, 1);
	assert_int_equal(m->total, 0);
	assert_false(m->is_reply);
	assert_true(!strncmp(m->message, "The ZONE_DEVICE refcount rework", 31));
	assert_non_null(strstr(m->message,
			       "\n\nSigned-off-by: Ana Petrova <ana.petrova@example.org>\n"));
	/* The message ends at "---": no diffstat in it. */
	assert_null(strstr(m->message, "insertions"));
	assert_non_null(m->diff);
	assert_true(!strncmp(m->diff, "diff --git a/lib/test_hmm.c b/lib/test_hmm.c\n", 45));
	/* format-patch's "-- \n2.x" signature is not part of the diff. */
	assert_null(strstr(m->diff, "\n-- \n"));
	assert_null(m->message_id);
	assert_null(m->base_commit);
	mbox_free(m, nr);
	strbuf_release(&file);
}

static void check_subject(const char *subject, const char *title, unsigned v,
			  unsigned number, unsigned total, int reply)
{
	struct patch_mail m = { 0 };

	assert_string_equal(mbox_parse_subject(&m, subject), title);
	assert_int_equal(m.version, v);
	assert_int_equal(m.number, number);
	assert_int_equal(m.total, total);
	assert_int_equal(m.is_reply, reply);
}

static void test_subjects(void **state)
{
	(void)state;
	check_subject("[PATCH] mm: fix", "mm: fix", 1, 0, 0, 0);
	check_subject("[PATCH v2 3/7] mm/gup: fix", "mm/gup: fix", 2, 3, 7, 0);
	check_subject("[RFC PATCH net-next v3 02/10] net: x", "net: x", 3, 2, 10, 0);
	check_subject("[PATCH 0/4] the cover", "the cover", 1, 0, 4, 0);
	check_subject("[PATCH v4 1/2][next] a: b", "a: b", 4, 1, 2, 0);
	check_subject("[PATCH,v2,1/3] commas", "commas", 2, 1, 3, 0);
	check_subject("Re: [PATCH 1/2] mm: fix", "mm: fix", 1, 1, 2, 1);
	check_subject("RE: Re: [PATCH v2] x", "x", 2, 0, 0, 1);
	check_subject("no prefix at all", "no prefix at all", 1, 0, 0, 0);
	/* Nonsense numbers are not taken. */
	check_subject("[PATCH 3/2] x", "x", 1, 0, 0, 0);
	check_subject("[PATCH v0 1/0] x", "x", 1, 0, 0, 0);
	check_subject("[PATCH unclosed", "[PATCH unclosed", 1, 0, 0, 0);
}

#define DIFF \
	"diff --git a/f b/f\n" \
	"index 1111111..2222222 100644\n" \
	"--- a/f\n" \
	"+++ b/f\n" \
	"@@ -1 +1,2 @@\n" \
	" one\n" \
	"+two\n"

/* RFC 2047 headers, quoted-printable UTF-8 text with soft line breaks. */
static void test_encodings(void **state)
{
	static const char qp[] =
		"From: =?UTF-8?q?Jos=C3=A9_M=C3=BCller?= <jose@example.org>\n"
		"Subject: =?UTF-8?B?W1BBVENIIHYyIDEvMV0gZHJpdmVyczogbcO8bGxlcg==?=\n"
		"Date: Tue, 2 Jan 2024 10:00:00 +0100\n"
		"Message-ID: <qp-1@example.org>\n"
		"In-Reply-To: <cover-1@example.org>\n"
		"MIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=UTF-8\n"
		"Content-Transfer-Encoding: quoted-printable\n"
		"\n"
		"Caf=C3=A9 is spelt with an =C3=A9 and this line is long enough to be w=\n"
		"rapped.\n"
		"\n"
		"Signed-off-by: Jos=C3=A9 M=C3=BCller <jose@example.org>\n"
		"---\n"
		"diff --git a/f b/f\n"
		"index 1111111..2222222 100644\n"
		"--- a/f\n"
		"+++ b/f\n"
		"@@ -1 +1,2 @@\n"
		" one\n"
		"+t=3Dwo\n";
	struct patch_mail *m;
	size_t nr;

	(void)state;
	m = read_ok(qp, &nr);
	assert_int_equal(nr, 1);
	assert_string_equal(m->author_name, "Jos\xc3\xa9 M\xc3\xbcller");
	assert_string_equal(m->subject, "[PATCH v2 1/1] drivers: m\xc3\xbcller");
	assert_string_equal(m->title, "drivers: m\xc3\xbcller");
	assert_int_equal(m->version, 2);
	assert_int_equal(m->date, 1704186000);
	assert_int_equal(m->tz_minutes, 60);
	assert_string_equal(m->message_id, "qp-1@example.org");
	assert_string_equal(m->in_reply_to, "cover-1@example.org");
	assert_true(!strncmp(m->message, "Caf\xc3\xa9 is spelt", 14));
	assert_non_null(strstr(m->message, "to be wrapped.\n"));
	assert_non_null(strstr(m->diff, "\n+t=wo\n"));
	mbox_free(m, nr);
}

/* base64 in ISO-8859-1: converted to UTF-8. */
static void test_base64_latin1(void **state)
{
	/* "Gr\xfc\xdfe\n---\n" DIFF, in ISO-8859-1, base64-encoded. */
	static const char b64[] =
		"From: Hans <hans@example.org>\n"
		"Subject: [PATCH] f: gruss\n"
		"Content-Type: text/plain; charset=ISO-8859-1\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"R3L832UKLS0tCmRpZmYgLS1naXQgYS9mIGIvZgppbmRleCAxMTExMTExLi4yMjIyMjIyIDEwMDY0\n"
		"NAotLS0gYS9mCisrKyBiL2YKQEAgLTEgKzEsMiBAQAogb25lCit0d28K\n";
	struct patch_mail *m;
	size_t nr;

	(void)state;
	m = read_ok(b64, &nr);
	assert_string_equal(m->message, "Gr\xc3\xbc\xc3\x9f" "e\n");
	assert_string_equal(m->diff, DIFF);
	assert_false(m->has_date);
	mbox_free(m, nr);
}

/* The patch as an attachment; in-body From: and Subject: win. */
static void test_attachment_inbody(void **state)
{
	static const char mail[] =
		"From: Sender <sender@example.org>\n"
		"Subject: [PATCH 2/3] will be replaced\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"XX\"\n"
		"\n"
		"--XX\n"
		"Content-Type: text/plain\n"
		"\n"
		"From: Real Author <real@example.org>\n"
		"Subject: [PATCH] lib: the real title\n"
		"\n"
		"The message.\n"
		"---\n"
		"--XX\n"
		"Content-Type: text/x-patch; name=\"0002.patch\"\n"
		"Content-Disposition: attachment; filename=\"0002.patch\"\n"
		"\n"
		DIFF
		"--XX\n"
		"Content-Type: application/octet-stream\n"
		"\n"
		"not text\n"
		"--XX--\n";
	struct patch_mail *m;
	size_t nr;

	(void)state;
	m = read_ok(mail, &nr);
	assert_string_equal(m->author_name, "Real Author");
	assert_string_equal(m->author_email, "real@example.org");
	assert_string_equal(m->title, "lib: the real title");
	/* The numbering is the mail's, not the in-body subject's. */
	assert_int_equal(m->number, 2);
	assert_int_equal(m->total, 3);
	assert_string_equal(m->message, "The message.\n");
	assert_string_equal(m->diff, DIFF);
	mbox_free(m, nr);
}

/* An mbox of three mails, mboxrd quoting, CRLF line ends, a cover letter. */
static void test_mbox_crlf_quoting(void **state)
{
	static const char box[] =
		"From cover Mon Sep 17 00:00:00 2001\r\n"
		"From: A <a@example.org>\r\n"
		"Subject: [PATCH 0/1] the series\r\n"
		"Message-ID: <c@x>\r\n"
		"\r\n"
		"Cover text.\r\n"
		"\r\n"
		"base-commit: 0123456789abcdef0123456789abcdef01234567\r\n"
		"\r\n"
		"From p1 Mon Sep 17 00:00:00 2001\r\n"
		"From: A <a@example.org>\r\n"
		"Subject: [PATCH 1/1] f: two\r\n"
		"Message-ID: <p1@x>\r\n"
		"In-Reply-To: <c@x>\r\n"
		"\r\n"
		">From the start, this line was quoted.\r\n"
		">>From stays quoted once.\r\n"
		"---\r\n"
		"diff --git a/f b/f\r\n"
		"index 1111111..2222222 100644\r\n"
		"--- a/f\r\n"
		"+++ b/f\r\n"
		"@@ -1 +1,2 @@\r\n"
		" one\r\n"
		"+two\r\n"
		"-- \r\n"
		"2.39.5\r\n"
		"\r\n"
		"From r Mon Sep 17 00:00:00 2001\r\n"
		"From: B <b@example.org>\r\n"
		"Subject: Re: [PATCH 1/1] f: two\r\n"
		"\r\n"
		"> diff --git a/f b/f\r\n"
		"Looks good.\r\n";
	struct patch_mail *m;
	struct series s;
	struct strbuf err = STRBUF_INIT;
	size_t nr;

	(void)state;
	m = read_ok(box, &nr);
	assert_int_equal(nr, 3);
	assert_int_equal(m[0].number, 0);
	assert_int_equal(m[0].total, 1);
	assert_null(m[0].diff);
	assert_string_equal(m[0].base_commit, "0123456789abcdef0123456789abcdef01234567");
	assert_string_equal(m[1].message,
			    "From the start, this line was quoted.\n>From stays quoted once.\n");
	assert_string_equal(m[1].in_reply_to, "c@x");
	assert_string_equal(m[1].diff, DIFF);	/* no \r, no signature */
	assert_true(m[2].is_reply);
	assert_null(m[2].diff);

	assert_int_equal(series_pick(&s, m, nr, &err), 0);
	assert_int_equal(s.nr, 1);
	assert_ptr_equal(s.patches[0], &m[1]);
	assert_ptr_equal(s.cover, &m[0]);
	assert_string_equal(s.title, "the series");
	assert_string_equal(s.message_id, "c@x");
	assert_string_equal(s.base_commit, "0123456789abcdef0123456789abcdef01234567");
	series_release(&s);
	mbox_free(m, nr);
	strbuf_release(&err);
}

/* An mbox whose mail has no text part at all (found by fuzz_mbox). */
static void test_mbox_no_text(void **state)
{
	static const char box[] =
		"From x Mon Sep 17 00:00:00 2001\n"
		"From: A <a@example.org>\n"
		"Subject: [PATCH] a picture\n"
		"Content-Type: image/png\n"
		"\n"
		">From not text\n";
	struct patch_mail *m;
	size_t nr;

	(void)state;
	m = read_ok(box, &nr);
	assert_int_equal(nr, 1);
	assert_string_equal(m[0].title, "a picture");
	assert_string_equal(m[0].message, "");
	assert_null(m[0].diff);
	mbox_free(m, nr);
}

static void test_not_mail(void **state)
{
	static const char nul[] = "From: a@b\nSubject: x\n\n\0oops";
	static const char no_subject[] = "From: a <a@example.org>\n\nbody\n";
	static const char no_from[] = "Subject: [PATCH] x\n\n" DIFF;

	(void)state;
	read_fails("", 0, "no mail");
	read_fails(nul, sizeof(nul) - 1, "NUL");
	read_fails(no_subject, strlen(no_subject), "no Subject");
	read_fails(no_from, strlen(no_from), "no From");
	read_fails("\x89PNG\r\n\x1a\n garbage", 16, "no mail");
}

/* --- series_pick -------------------------------------------------------------------- */

static struct patch_mail mail(unsigned v, unsigned n, unsigned total, const char *title,
			      int has_diff)
{
	struct patch_mail m = { 0 };

	m.version = v;
	m.number = n;
	m.total = total;
	m.title = (char *)title;
	m.diff = has_diff ? (char *)(title) : NULL;	/* differs per patch */
	return m;
}

static void pick_fails(const struct patch_mail *m, size_t nr, const char *want)
{
	struct strbuf err = STRBUF_INIT;
	struct series s;

	assert_int_equal(series_pick(&s, m, nr, &err), -1);
	if (!strstr(err.buf, want))
		fail_msg("error \"%s\" does not say \"%s\"", err.buf, want);
	strbuf_release(&err);
}

static void test_pick(void **state)
{
	struct patch_mail m[] = {
		mail(1, 1, 2, "v1 one", 1), mail(1, 2, 2, "v1 two", 1),
		mail(2, 2, 2, "v2 two", 1), mail(2, 0, 2, "v2 cover", 0),
		mail(2, 1, 2, "v2 one", 1), mail(3, 1, 3, "v3 one", 1),
	};
	struct strbuf err = STRBUF_INIT;
	struct series s;

	(void)state;
	/* v3 is incomplete: v2, in m/n order, with its cover, and a note. */
	assert_int_equal(series_pick(&s, m, 6, &err), 0);
	assert_int_equal(s.version, 2);
	assert_int_equal(s.nr, 2);
	assert_string_equal(s.patches[0]->title, "v2 one");
	assert_string_equal(s.patches[1]->title, "v2 two");
	assert_string_equal(s.title, "v2 cover");
	assert_non_null(s.note);
	assert_non_null(strstr(s.note, "v3: patch 2/3 is missing"));
	series_release(&s);

	/* Only v1 and a lone v3 patch. */
	assert_int_equal(series_pick(&s, m, 2, &err), 0);
	assert_int_equal(s.version, 1);
	assert_null(s.cover);
	assert_string_equal(s.title, "v1 one");
	assert_null(s.note);
	series_release(&s);

	pick_fails(m + 5, 1, "v3: patch 2/3 is missing");
	pick_fails(m + 3, 1, "no patch");

	{
		struct patch_mail mixed[] = { mail(1, 1, 2, "a", 1), mail(1, 0, 0, "b", 1) };
		struct patch_mail twice[] = { mail(1, 1, 1, "a", 1), mail(1, 1, 1, "b", 1) };
		struct patch_mail totals[] = { mail(1, 1, 2, "a", 1), mail(1, 2, 3, "b", 1) };
		struct patch_mail plain[] = { mail(1, 0, 0, "first", 1),
					      mail(1, 0, 0, "second", 1) };

		pick_fails(mixed, 2, "mixes numbered");
		pick_fails(twice, 2, "comes twice");
		pick_fails(totals, 2, "patches say both");
		/* Unnumbered patches keep their order (git am a.patch b.patch). */
		assert_int_equal(series_pick(&s, plain, 2, &err), 0);
		assert_int_equal(s.nr, 2);
		assert_string_equal(s.patches[0]->title, "first");
		assert_string_equal(s.patches[1]->title, "second");
		series_release(&s);
	}
	strbuf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_patch),
		cmocka_unit_test(test_subjects),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_base64_latin1),
		cmocka_unit_test(test_attachment_inbody),
		cmocka_unit_test(test_mbox_crlf_quoting),
		cmocka_unit_test(test_mbox_no_text),
		cmocka_unit_test(test_not_mail),
		cmocka_unit_test(test_pick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
