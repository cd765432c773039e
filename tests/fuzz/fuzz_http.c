/*
 * fuzz_http: what the HTTP server parses from a request before any
 * handler runs (http.c): the request path (percent-decoding, routing,
 * parameter checks), the byte range of a file reply (?tail=, ?offset=
 * &length=, "Range: bytes=..."), and the query helpers of api.c
 * (api_query(), api_parse_int()).
 *
 * http.c is included whole: its parsers are static and want a
 * libmicrohttpd connection, so this file stands in for the one
 * libmicrohttpd call they make, MHD_lookup_connection_value().
 *
 * Input: 8 bytes of file size (little endian; the input is padded with
 * zeros), then lines: the request URI, the method, the Range header, and
 * the values of tail, offset and length.  A missing line is an absent
 * header or argument.
 */
#include "../../daemon/http.c"

#include "fuzz.h"

#define NR_FIELDS 6
enum { F_URI, F_METHOD, F_RANGE, F_TAIL, F_OFFSET, F_LENGTH };

struct MHD_Connection {
	const char *field[NR_FIELDS];
};

const char *MHD_lookup_connection_value(struct MHD_Connection *conn,
					enum MHD_ValueKind kind, const char *key)
{
	if (kind == MHD_HEADER_KIND && !strcasecmp(key, MHD_HTTP_HEADER_RANGE))
		return conn->field[F_RANGE];
	if (kind == MHD_GET_ARGUMENT_KIND && !strcmp(key, "tail"))
		return conn->field[F_TAIL];
	if (kind == MHD_GET_ARGUMENT_KIND && !strcmp(key, "offset"))
		return conn->field[F_OFFSET];
	if (kind == MHD_GET_ARGUMENT_KIND && !strcmp(key, "length"))
		return conn->field[F_LENGTH];
	return NULL;
}

static void fuzz_route(const char *uri, const char *method)
{
	struct request *r = uri_cb(NULL, uri, NULL);
	size_t i;

	if (route_request(r, method) == 0) {
		fuzz_check(r->route != NULL);
		for (i = 0; i < r->nr_params; i++)
			fuzz_check(r->params[i] != NULL);
	} else {
		fuzz_check(r->reply.status >= 400 && r->reply.status < 500);
	}
	request_free(r);
}

static void fuzz_range(struct MHD_Connection *conn, unsigned long long size)
{
	struct api_reply out = API_REPLY_INIT;

	if (pick_range(conn, &out, size) == 0) {
		/* Never a byte outside the file, never more than FILE_MAX. */
		fuzz_check(out.status == 200 || out.status == 206);
		fuzz_check(out.offset <= size);
		fuzz_check(out.length <= size - out.offset);
		fuzz_check(out.length <= FILE_MAX);
	} else {
		fuzz_check(out.status == 400 || out.status == 416);
	}
	api_reply_release(&out);
}

/* The query string of uri as api_request arguments (not decoded). */
static void fuzz_query(char *uri)
{
	struct api_request req = API_REQUEST_INIT;
	char *q = strchr(uri, '?'), *save = NULL, *arg;
	long long v;
	size_t i;

	if (!q)
		return;
	for (arg = strtok_r(q + 1, "&", &save); arg && req.nr_query < API_MAX_QUERY;
	     arg = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(arg, '=');

		if (eq)
			*eq++ = '\0';
		req.query[req.nr_query][0] = arg;
		req.query[req.nr_query][1] = eq;
		req.nr_query++;
	}
	for (i = 0; i < req.nr_query; i++) {
		const char *val = api_query(&req, req.query[i][0]);

		fuzz_check(val != NULL);
		if (api_parse_int(val, 0, (long long)1 << 53, &v) == 0)
			fuzz_check(v >= 0 && v <= (long long)1 << 53);
		if (api_parse_int(val, -5, 9999, &v) == 0)
			fuzz_check(v >= -5 && v <= 9999);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct MHD_Connection conn = { { NULL } };
	unsigned long long fsize = 0;
	char *text, *p, *uri_copy;
	size_t i, n = 0;

	for (i = 0; i < 8; i++)
		fsize |= (unsigned long long)(i < size ? data[i] : 0) << (8 * i);
	/* Files are at most a few GB; keep the whole range of small ones. */
	fsize = (fsize & 1) ? fsize >> 1 : (fsize >> 1) % 100000;
	text = fuzz_strndup(data + (size < 8 ? size : 8), size < 8 ? 0 : size - 8);
	for (p = text; p && n < NR_FIELDS; n++) {
		char *nl = strchr(p, '\n');

		conn.field[n] = p;
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : NULL;
	}
	if (conn.field[F_URI]) {
		fuzz_route(conn.field[F_URI],
			   conn.field[F_METHOD] ? conn.field[F_METHOD] : "GET");
		uri_copy = xstrdup(conn.field[F_URI]);
		fuzz_query(uri_copy);
		free(uri_copy);
	}
	fuzz_range(&conn, fsize);
	free(text);
	return 0;
}
