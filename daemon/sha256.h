#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

/*
 * sha256: a small, self-contained SHA-256 (FIPS 180-4), used to store API
 * tokens as hashes of their secrets.  It is not meant for bulk data (no
 * SIMD), only for short inputs; it is checked against the FIPS 180-2 test
 * vectors in tests/unit/test_sha256.c.
 *
 *   struct sha256 c = SHA256_INIT;
 *   sha256_update(&c, data, len);   (any number of times)
 *   sha256_final(&c, digest);       (c must be re-initialised to reuse it)
 */

#define SHA256_DIGEST_SIZE 32
#define SHA256_HEX_SIZE (2 * SHA256_DIGEST_SIZE + 1)

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;		/* total length so far */
	unsigned char block[64];
	size_t fill;		/* bytes waiting in block */
};

#define SHA256_INIT { { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, \
			0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }, 0, { 0 }, 0 }

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, unsigned char out[SHA256_DIGEST_SIZE]);

/* One-shot: the lower-case hex digest of data, NUL-terminated. */
void sha256_hex(char out[SHA256_HEX_SIZE], const void *data, size_t len);

#endif
