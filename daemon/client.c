/*
 * client: the HTTP API from the command line, over HTTP or on a database
 * (see client.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "wrapper.h"
#include "banned.h"

void client_init_url(struct client *cl, const char *url, const char *token)
{
	size_t n = strlen(url);

	while (n && url[n - 1] == '/')
		n--;
	cl->base = xstrndup(url, n);
	cl->token = token;
}

void client_init_listen(struct client *cl, const char *listen, const char *token)
{
	const char *colon = strrchr(listen, ':');
	struct strbuf url = STRBUF_INIT;
	size_t n = colon ? (size_t)(colon - listen) : strlen(listen);

	strbuf_adds(&url, "http://");
	/* A wildcard address is reached through loopback. */
	if (!n || (n == 7 && !strncmp(listen, "0.0.0.0", n)))
		strbuf_adds(&url, "127.0.0.1");
	else if (n == 4 && !strncmp(listen, "[::]", n))
		strbuf_adds(&url, "[::1]");
	else
		strbuf_add(&url, listen, n);
	strbuf_addf(&url, ":%s", colon ? colon + 1 : "8080");
	client_init_url(cl, strbuf_str(&url), token);
	strbuf_release(&url);
}

int client_open_db(struct client *cl, const char *path)
{
	if (access(path, R_OK) < 0) {
		fprintf(stderr, "kstage: %s: no such database\n", path);
		return -1;
	}
	cl->db = db_open(path);
	return cl->db ? 0 : -1;
}

void client_release(struct client *cl)
{
	free(cl->base);
	cl->base = NULL;
	db_close(cl->db);
	cl->db = NULL;
}

/* --- HTTP ------------------------------------------------------------------------ */

struct fetch {
	CURL *curl;
	struct strbuf body;
	FILE *stream;		/* 2xx bodies go here when set */
	size_t bytes;
	int too_big;
};

static size_t write_cb(char *data, size_t size, size_t n, void *payload)
{
	struct fetch *f = payload;
	long code = 0;

	size *= n;
	f->bytes += size;
	if (f->bytes > CLIENT_RESPONSE_MAX) {
		f->too_big = 1;
		return 0;
	}
	curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &code);
	if (f->stream && code < 300)
		return fwrite(data, 1, size, f->stream);
	strbuf_add(&f->body, data, size);
	return size;
}

/*
 * method path (with query) and an optional JSON body.  Returns the HTTP
 * status (the body in *out, unless stream took it), or -1 when there was
 * no answer (printed).
 */
long client_request(struct client *cl, const char *method, const char *path,
		    const char *body, struct strbuf *out, FILE *stream)
{
	struct fetch f = { NULL, STRBUF_INIT, stream, 0, 0 };
	struct curl_slist *hdrs = NULL;
	struct strbuf url = STRBUF_INIT, auth = STRBUF_INIT;
	long code = -1;
	CURLcode rc;

	if (!cl->base) {
		fprintf(stderr, "kstage: %s %s: no server to ask\n", method, path);
		return -1;
	}
	f.curl = curl_easy_init();
	if (!f.curl) {
		fprintf(stderr, "kstage: cannot initialise libcurl\n");
		return -1;
	}
	strbuf_addf(&url, "%s%s", cl->base, path);
	curl_easy_setopt(f.curl, CURLOPT_URL, strbuf_str(&url));
	curl_easy_setopt(f.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f.curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(f.curl, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(f.curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f.curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CLIENT_RESPONSE_MAX);
	curl_easy_setopt(f.curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(f.curl, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(f.curl, CURLOPT_USERAGENT, "kstage-cli");
	curl_easy_setopt(f.curl, CURLOPT_CUSTOMREQUEST, method);
	if (cl->token && *cl->token) {
		strbuf_addf(&auth, "Authorization: Bearer %s", cl->token);
		hdrs = curl_slist_append(hdrs, strbuf_str(&auth));
	}
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(f.curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(f.curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(f.curl, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(f.curl);
	if (rc == CURLE_COULDNT_CONNECT && cl->quiet) {
		;	/* no server: the caller expected that might be so */
	} else if (rc != CURLE_OK) {
		fprintf(stderr, "kstage: %s %s: %s\n", method, strbuf_str(&url),
			f.too_big ? "the response is too large" : curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(f.curl, CURLINFO_RESPONSE_CODE, &code);
		strbuf_add(out, f.body.buf ? f.body.buf : "", f.body.len);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(f.curl);
	strbuf_release(&f.body);
	strbuf_release(&url);
	strbuf_release(&auth);
	return code;
}

void client_failed(long code, const struct strbuf *body)
{
	json_t *j = json_loadb(body->buf ? body->buf : "", body->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "error"));

	if (msg)
		fprintf(stderr, "kstage: %s (HTTP %ld)\n", msg, code);
	else
		fprintf(stderr, "kstage: HTTP %ld: %.300s\n", code, strbuf_str(body));
	json_decref(j);
}

int client_call(struct client *cl, const char *method, const char *path,
		const char *body, json_t **out)
{
	struct strbuf resp = STRBUF_INIT;
	json_error_t jerr;
	long code;

	*out = NULL;
	code = client_request(cl, method, path, body, &resp, NULL);
	if (code < 0) {
		strbuf_release(&resp);
		return -1;
	}
	if (code >= 300) {
		client_failed(code, &resp);
		strbuf_release(&resp);
		return -1;
	}
	*out = json_loadb(resp.buf ? resp.buf : "", resp.len, 0, &jerr);
	if (!*out) {
		fprintf(stderr, "kstage: %s %s: the server's answer is not JSON: %s\n",
			method, path, jerr.text);
		strbuf_release(&resp);
		return -1;
	}
	if (cl->json)
		fputs(strbuf_str(&resp), stdout);
	strbuf_release(&resp);
	return 0;
}

void client_url_escape(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~')
			strbuf_addch(sb, c);
		else
			strbuf_addf(sb, "%%%02X", c);
	}
}

/* --- reads, from the server or the database ------------------------------------- */

int client_get(struct client *cl, const char *path, api_fn *fn,
	       const char *p0, const char *p1, json_t **out)
{
	struct api_request req = API_REQUEST_INIT;
	struct api_reply rep = API_REPLY_INIT;
	int rc;

	*out = NULL;
	if (!cl->db) {
		int echo = cl->json;

		cl->json = 0;
		rc = client_call(cl, "GET", path, NULL, out);
		cl->json = echo;
		return rc;
	}
	req.db = cl->db;
	req.params[0] = p0;
	req.params[1] = p1;
	req.nr_params = p1 ? 2 : p0 ? 1 : 0;
	if (api_read_begin(cl->db) < 0)
		return -1;
	rc = fn(&rep, &req);
	api_read_end(cl->db);
	if (rc < 0 || rep.status >= 300) {
		if (rc < 0)
			fprintf(stderr, "kstage: cannot read %s\n", path);
		else
			client_failed(rep.status, &rep.body);
		api_reply_release(&rep);
		return -1;
	}
	*out = json_loadb(rep.body.buf ? rep.body.buf : "", rep.body.len, 0, NULL);
	api_reply_release(&rep);
	if (!*out)
		fprintf(stderr, "kstage: %s: the answer is not JSON\n", path);
	return *out ? 0 : -1;
}

const char *client_str(json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : def;
}

long long client_int(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}
