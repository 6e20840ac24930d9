// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The TLS foundation: pins (with hostile strings), identity key files
 * (modes, no overwrite), the signing oracle, and the TLS 1.3 handshake
 * over loopback TCP, both ends pinned and every refusal: a wrong or
 * unpinned key, a plain USB/IP peer, a TLS 1.2-only client, a failing or
 * mismatched signer, a stalled peer. Then the kTLS hand-over: on a
 * kernel without tls.ko it must say so; with it (the guest scenario
 * tls-ktls runs this binary too) data crosses the kernel's record layer.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "check-main.h"
#include "tcp-pair.h"
#include "tls_handshake.h"
#include "tls_key.h"
#include "tls_ktls.h"
#include "tls_pin.h"

#define TIMEOUT_MS 5000

static void assert_one_line(const char *msg, const char *needle)
{
	fprintf(stderr, "msg: %s\n", msg);
	ck_assert_msg(msg[0], "no message");
	ck_assert_msg(!strchr(msg, '\n'), "a message of more than one line");
	ck_assert_msg(strstr(msg, needle), "'%s' does not say '%s'", msg,
		      needle);
}

/* ---- pins ---- */

START_TEST(test_pin_format_vector)
{
	/* sha256("abc"), FIPS 180-2's vector, in base64 without padding. */
	struct tls_pin pin, back;
	char text[TLS_PIN_TEXT_SIZE];

	ck_assert_int_eq(tls_pin_of_spki((const uint8_t *)"abc", 3, &pin), 0);
	tls_pin_format(&pin, text);
	ck_assert_str_eq(text,
			 "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0");
	ck_assert_uint_eq(strlen(text), TLS_PIN_TEXT_LEN);
	ck_assert_int_eq(tls_pin_parse(text, &back), 0);
	ck_assert(tls_pin_equal(&pin, &back));
	ck_assert_int_eq(tls_pin_of_spki(NULL, 0, &pin), -EINVAL);
}
END_TEST

START_TEST(test_pin_round_trip_all_bytes)
{
	struct tls_pin pin, back;
	char text[TLS_PIN_TEXT_SIZE];

	for (int v = 0; v < 256; v++) {
		for (int i = 0; i < TLS_PIN_BYTES; i++)
			pin.sha256[i] = (uint8_t)(v + i * 37);
		tls_pin_format(&pin, text);
		ck_assert_int_eq(tls_pin_parse(text, &back), 0);
		ck_assert(tls_pin_equal(&pin, &back));
	}
}
END_TEST

START_TEST(test_pin_hostile)
{
	static const char *const bad[] = {
		"",
		"SHA256:",
		"SHA256",
		"sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
		"SHA-256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
		"MD5:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
		" SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
		"SHA256: 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU ",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFUA",
		/* the two unused bits set: a second spelling of a key */
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFX",
		/* base64url, not the standard alphabet */
		"SHA256:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSu\xc3\xa9",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3h\x01uFU",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRk\tm5NMpJWZG3hSuFU",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQ=Rkm5NMpJWZG3hSuFU",
		/* hex is not the format */
		"SHA256:"
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8"
		"55",
	};
	struct tls_pin pin;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(tls_pin_parse(bad[i], &pin) == -EINVAL,
			      "accepted hostile pin #%zu '%s'", i, bad[i]);
	ck_assert_int_eq(tls_pin_parse(NULL, &pin), -EINVAL);
	/* A long string: the parser must not read past what it needs. */
	size_t len = 1 << 20;
	char *big = malloc(len + 1);
	memcpy(big, "SHA256:", 7);
	memset(big + 7, 'A', len - 7);
	big[len] = '\0';
	ck_assert_int_eq(tls_pin_parse(big, &pin), -EINVAL);
	free(big);
	ck_assert_int_eq(tls_pin_parse("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5N"
				       "MpJWZG3hSuFU",
				       &pin),
			 0);
}
END_TEST

START_TEST(test_pins_add)
{
	static struct tls_pins pins;
	struct tls_pin pin;
	char text[TLS_PIN_TEXT_SIZE];

	ck_assert_int_eq(tls_pins_add(&pins, "SHA256:nonsense"), -EINVAL);
	ck_assert_uint_eq(pins.count, 0);
	memset(&pin, 0, sizeof(pin));
	for (int i = 0; i < TLS_PINS_MAX; i++) {
		pin.sha256[0] = (uint8_t)i;
		tls_pin_format(&pin, text);
		ck_assert_int_eq(tls_pins_add(&pins, text), 0);
		/* the same again is no new entry */
		ck_assert_int_eq(tls_pins_add(&pins, text), 0);
	}
	ck_assert_uint_eq(pins.count, TLS_PINS_MAX);
	pin.sha256[0] = 0xff;
	tls_pin_format(&pin, text);
	ck_assert_int_eq(tls_pins_add(&pins, text), -ENOSPC);
	ck_assert(!tls_pins_contain(&pins, &pin));
	pin.sha256[0] = 3;
	ck_assert(tls_pins_contain(&pins, &pin));
}
END_TEST

/* ---- key files ---- */

static char tmpdir[64];

static void tmpdir_setup(void)
{
	strcpy(tmpdir, "/tmp/test-tls-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmpdir_teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *path_in(const char *name)
{
	static char buf[4][128];
	static int n;
	char *p = buf[n++ % 4];
	snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, name);
	return p;
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	ck_assert_int_eq(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

START_TEST(test_keygen_modes_and_pins)
{
	struct tls_key *key, *loaded;
	struct tls_pin pin, from_key, from_pub, from_loaded;
	char msg[256] = "";

	umask(0); /* the modes must not depend on it */
	ck_assert_int_eq(tls_key_generate(&key), 0);
	ck_assert_int_eq(tls_key_write(key, tmpdir, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(mode_of(path_in(TLS_KEY_FILE)), 0600);
	ck_assert_uint_eq(mode_of(path_in(TLS_PUB_FILE)), 0644);
	ck_assert_int_eq(tls_key_pin(key, &pin), 0);
	ck_assert_int_eq(tls_pin_of_file(path_in(TLS_KEY_FILE), &from_key, msg,
					 sizeof(msg)),
			 0);
	ck_assert_int_eq(tls_pin_of_file(path_in(TLS_PUB_FILE), &from_pub, msg,
					 sizeof(msg)),
			 0);
	ck_assert(tls_pin_equal(&pin, &from_key));
	ck_assert(tls_pin_equal(&pin, &from_pub));
	ck_assert_int_eq(
		tls_key_load(path_in(TLS_KEY_FILE), &loaded, msg, sizeof(msg)),
		0);
	ck_assert_int_eq(tls_key_pin(loaded, &from_loaded), 0);
	ck_assert(tls_pin_equal(&pin, &from_loaded));
	uint8_t spki[TLS_SPKI_MAX];
	size_t len;
	ck_assert_int_eq(tls_key_spki(key, spki, sizeof(spki), &len), 0);
	ck_assert_uint_eq(len, 44); /* Ed25519 SPKI */
	ck_assert_int_eq(tls_key_spki(key, spki, 10, &len), -ENOSPC);
	tls_key_free(loaded);
	tls_key_free(key);
}
END_TEST

static char *slurp(const char *path)
{
	static char buf[2][8192];
	static int n;
	char *b = buf[n++ % 2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ssize_t got = read(fd, b, sizeof(buf[0]) - 1);
	ck_assert_int_gt(got, 0);
	b[got] = '\0';
	close(fd);
	return b;
}

START_TEST(test_keygen_never_overwrites)
{
	struct tls_key *first, *second;
	char msg[256] = "", before_key[8192], before_pub[8192];

	ck_assert_int_eq(tls_key_generate(&first), 0);
	ck_assert_int_eq(tls_key_generate(&second), 0);
	ck_assert_int_eq(tls_key_write(first, tmpdir, msg, sizeof(msg)), 0);
	strcpy(before_key, slurp(path_in(TLS_KEY_FILE)));
	strcpy(before_pub, slurp(path_in(TLS_PUB_FILE)));
	ck_assert_int_eq(tls_key_write(second, tmpdir, msg, sizeof(msg)),
			 -EEXIST);
	assert_one_line(msg, "never overwritten");
	ck_assert_str_eq(slurp(path_in(TLS_KEY_FILE)), before_key);
	ck_assert_str_eq(slurp(path_in(TLS_PUB_FILE)), before_pub);

	/* Only the public file there: refused, no private key left. */
	ck_assert_int_eq(unlink(path_in(TLS_KEY_FILE)), 0);
	ck_assert_int_eq(tls_key_write(second, tmpdir, msg, sizeof(msg)),
			 -EEXIST);
	assert_one_line(msg, TLS_PUB_FILE);
	ck_assert_int_eq(access(path_in(TLS_KEY_FILE), F_OK), -1);
	ck_assert_str_eq(slurp(path_in(TLS_PUB_FILE)), before_pub);

	/* A symlink where the key goes: not followed, its target untouched. */
	ck_assert_int_eq(unlink(path_in(TLS_PUB_FILE)), 0);
	write_text(path_in("target"), "precious\n", 0644);
	ck_assert_int_eq(symlink(path_in("target"), path_in(TLS_KEY_FILE)), 0);
	ck_assert_int_eq(tls_key_write(second, tmpdir, msg, sizeof(msg)),
			 -EEXIST);
	ck_assert_str_eq(slurp(path_in("target")), "precious\n");
	ck_assert_int_eq(access(path_in(TLS_PUB_FILE), F_OK), -1);

	ck_assert_int_eq(
		tls_key_write(second, "/nonexistent/dir", msg, sizeof(msg)),
		-ENOENT);
	assert_one_line(msg, "/nonexistent/dir");
	tls_key_free(first);
	tls_key_free(second);
}
END_TEST

START_TEST(test_key_load_refusals)
{
	struct tls_key *key;
	char msg[256] = "";

	ck_assert_int_eq(tls_key_generate(&key), 0);
	ck_assert_int_eq(tls_key_write(key, tmpdir, msg, sizeof(msg)), 0);
	tls_key_free(key);
	key = NULL;

	/* Readable by others: refused, as ssh does. */
	ck_assert_int_eq(chmod(path_in(TLS_KEY_FILE), 0640), 0);
	ck_assert_int_eq(
		tls_key_load(path_in(TLS_KEY_FILE), &key, msg, sizeof(msg)),
		-EPERM);
	assert_one_line(msg, "0600");
	ck_assert_int_eq(chmod(path_in(TLS_KEY_FILE), 0600), 0);

	/* Through a symlink: refused. */
	ck_assert_int_eq(symlink(path_in(TLS_KEY_FILE), path_in("link")), 0);
	ck_assert_int_eq(tls_key_load(path_in("link"), &key, msg, sizeof(msg)),
			 -ELOOP);

	/* Not a key, too big, a public key, a directory. */
	write_text(path_in("junk"), "-----BEGIN PRIVATE KEY-----\nAAAA\n",
		   0600);
	ck_assert_int_eq(tls_key_load(path_in("junk"), &key, msg, sizeof(msg)),
			 -EINVAL);
	assert_one_line(msg, "not a PEM private key");
	char *big = malloc(TLS_KEY_FILE_MAX + 2);
	memset(big, 'A', TLS_KEY_FILE_MAX + 1);
	big[TLS_KEY_FILE_MAX + 1] = '\0';
	write_text(path_in("big"), big, 0600);
	free(big);
	ck_assert_int_eq(tls_key_load(path_in("big"), &key, msg, sizeof(msg)),
			 -EINVAL);
	ck_assert_int_eq(
		tls_key_load(path_in(TLS_PUB_FILE), &key, msg, sizeof(msg)),
		-EPERM); /* 0644 */
	ck_assert_int_eq(tls_key_load(tmpdir, &key, msg, sizeof(msg)), -EINVAL);
	ck_assert_ptr_null(key);

	struct tls_pin pin;
	write_text(path_in("junk.pub"), "-----BEGIN PUBLIC KEY-----\nAA\n",
		   0644);
	ck_assert_int_eq(
		tls_pin_of_file(path_in("junk.pub"), &pin, msg, sizeof(msg)),
		-EINVAL);
	assert_one_line(msg, "not a PEM");
}
END_TEST

/* ---- the signing oracle ---- */

static size_t certificate_verify(enum tls_role role, uint8_t *buf,
				 size_t hash_len)
{
	const char *ctx = role == TLS_ROLE_SERVER
				  ? "TLS 1.3, server CertificateVerify"
				  : "TLS 1.3, client CertificateVerify";
	memset(buf, 0x20, 64);
	memcpy(buf + 64, ctx, strlen(ctx) + 1);
	memset(buf + 64 + strlen(ctx) + 1, 0xab, hash_len);
	return 64 + strlen(ctx) + 1 + hash_len;
}

START_TEST(test_sign_oracle_refuses_other_content)
{
	struct tls_key *key;
	uint8_t tbs[256], sig[TLS_SIGNATURE_MAX];
	size_t len, sig_len;

	ck_assert_int_eq(tls_key_generate(&key), 0);
	len = certificate_verify(TLS_ROLE_SERVER, tbs, 32);
	ck_assert_int_eq(tls_key_sign(key, TLS_ROLE_SERVER, tbs, len, sig,
				      sizeof(sig), &sig_len),
			 0);
	ck_assert_uint_eq(sig_len, 64);
	len = certificate_verify(TLS_ROLE_SERVER, tbs, 48);
	ck_assert_int_eq(tls_key_sign(key, TLS_ROLE_SERVER, tbs, len, sig,
				      sizeof(sig), &sig_len),
			 0);
	/* the other role's context */
	ck_assert_int_eq(tls_key_sign(key, TLS_ROLE_CLIENT, tbs, len, sig,
				      sizeof(sig), &sig_len),
			 -EINVAL);
	/* a hash of another length, a padding byte off, no separator */
	len = certificate_verify(TLS_ROLE_SERVER, tbs, 31);
	ck_assert_int_eq(tls_key_sign(key, TLS_ROLE_SERVER, tbs, len, sig,
				      sizeof(sig), &sig_len),
			 -EINVAL);
	len = certificate_verify(TLS_ROLE_SERVER, tbs, 32);
	tbs[10] = 0x21;
	ck_assert_int_eq(tls_key_sign(key, TLS_ROLE_SERVER, tbs, len, sig,
				      sizeof(sig), &sig_len),
			 -EINVAL);
	len = certificate_verify(TLS_ROLE_SERVER, tbs, 32);
	tbs[64 + 33] = 'x';
	ck_assert_int_eq(tls_key_sign(key, TLS_ROLE_SERVER, tbs, len, sig,
				      sizeof(sig), &sig_len),
			 -EINVAL);
	/* anything else */
	ck_assert_int_eq(tls_key_sign(key, TLS_ROLE_SERVER,
				      (const uint8_t *)"hello", 5, sig,
				      sizeof(sig), &sig_len),
			 -EINVAL);
	ck_assert_int_eq(tls_key_sign(key, TLS_ROLE_SERVER, NULL, 0, sig,
				      sizeof(sig), &sig_len),
			 -EINVAL);
	len = certificate_verify(TLS_ROLE_CLIENT, tbs, 32);
	ck_assert_int_eq(
		tls_key_sign(key, TLS_ROLE_CLIENT, tbs, len, sig, 10, &sig_len),
		-ENOSPC);
	tls_key_free(key);
}
END_TEST

/* ---- the handshake ---- */

struct side {
	struct tls_key *key;
	struct tls_key *sign_with; /* another key: a mismatched signer */
	struct tls_identity id;
	struct tls_pins pins;
	struct tls_config cfg;
	int fd;
	int sign_fail; /* a negative errno the signer returns */
	unsigned sign_calls;
	int rc;
	char msg[256];
	struct tls_result res;
	struct tls_session *session;
};

static int test_sign(void *ctx, enum tls_role role, const uint8_t *tbs,
		     size_t tbs_len, uint8_t *sig, size_t cap, size_t *sig_len)
{
	struct side *s = ctx;

	s->sign_calls++;
	if (s->sign_fail)
		return s->sign_fail;
	return tls_key_sign(s->sign_with ? s->sign_with : s->key, role, tbs,
			    tbs_len, sig, cap, sig_len);
}

static void side_init(struct side *s, enum tls_role role)
{
	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(tls_key_generate(&s->key), 0);
	ck_assert_int_eq(tls_key_spki(s->key, s->id.spki, sizeof(s->id.spki),
				      &s->id.spki_len),
			 0);
	s->id.sign = test_sign;
	s->id.sign_ctx = s;
	s->cfg.role = role;
	s->cfg.me = &s->id;
	s->cfg.allowed = &s->pins;
	s->cfg.timeout_ms = TIMEOUT_MS;
	s->fd = -1;
}

static void side_free(struct side *s)
{
	tls_session_free(s->session);
	tls_key_free(s->key);
	tls_key_free(s->sign_with);
	if (s->fd >= 0)
		close(s->fd);
}

static void pin_peer(struct side *s, const struct side *peer)
{
	ck_assert_uint_lt(s->pins.count, TLS_PINS_MAX);
	ck_assert_int_eq(tls_key_pin(peer->key, &s->pins.pin[s->pins.count]),
			 0);
	s->pins.count++;
}

static void *handshake_thread(void *arg)
{
	struct side *s = arg;

	s->rc = tls_handshake(s->fd, &s->cfg, &s->session, &s->res, s->msg,
			      sizeof(s->msg));
	/* What a caller does on failure: close, which the peer sees. */
	if (s->rc < 0)
		shutdown(s->fd, SHUT_RDWR);
	return NULL;
}

/* Both ends at once, the server in a thread. */
static void run_pair(struct side *server, struct side *client)
{
	pthread_t t;

	tcp_pair(&client->fd, &server->fd);
	ck_assert_int_eq(pthread_create(&t, NULL, handshake_thread, server), 0);
	handshake_thread(client);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
}

struct pinned_pair {
	struct side server, client;
};

static void pinned_pair_init(struct pinned_pair *p)
{
	side_init(&p->server, TLS_ROLE_SERVER);
	side_init(&p->client, TLS_ROLE_CLIENT);
	pin_peer(&p->server, &p->client);
	pin_peer(&p->client, &p->server);
}

static void pinned_pair_free(struct pinned_pair *p)
{
	side_free(&p->server);
	side_free(&p->client);
}

static void assert_peer_is(const struct side *s, const struct side *peer)
{
	struct tls_pin pin;
	ck_assert_int_eq(tls_key_pin(peer->key, &pin), 0);
	ck_assert(tls_pin_equal(&s->res.peer, &pin));
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		ck_assert_int_gt(n, 0);
		p += n;
		len -= (size_t)n;
	}
}

static void read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		ck_assert_msg(n > 0, "read: %zd (%s)", n, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* The kernel's record layer, both ways, or on a kernel without it the
 * error that names tls.ko. */
static void ktls_or_missing_module(struct pinned_pair *p)
{
	char msg[256] = "";
	int r = tls_ktls_install(p->server.fd, p->server.session, msg,
				 sizeof(msg));
	if (r == -ENOENT) {
		assert_one_line(msg, "modprobe tls");
		ck_assert_msg(access("/proc/net/tls_stat", F_OK) != 0,
			      "tls is loaded, yet TCP_ULP gave ENOENT");
		printf("kTLS: %s (the guest scenario tls-ktls runs this "
		       "with tls.ko)\n",
		       msg);
		return;
	}
	ck_assert_msg(r == 0, "server: %s", msg);
	ck_assert_int_eq(tls_ktls_install(p->client.fd, p->client.session, msg,
					  sizeof(msg)),
			 0);
	static char out[256 * 1024], in[sizeof(out)];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7 + (i >> 9));
	write_all(p->client.fd, out, sizeof(out));
	read_all(p->server.fd, in, sizeof(in));
	ck_assert(!memcmp(in, out, sizeof(in)));
	write_all(p->server.fd, "pong", 4);
	read_all(p->client.fd, in, 4);
	ck_assert(!memcmp(in, "pong", 4));
	printf("kTLS: 256 KiB and back through the kernel's record layer "
	       "(%s)\n",
	       p->client.res.cipher);
}

START_TEST(test_handshake_pinned)
{
	struct pinned_pair p;
	char line[256];

	pinned_pair_init(&p);
	run_pair(&p.server, &p.client);
	ck_assert_msg(p.server.rc == 0, "server: %s", p.server.msg);
	ck_assert_msg(p.client.rc == 0, "client: %s", p.client.msg);
	for (int i = 0; i < 2; i++) {
		struct side *s = i ? &p.client : &p.server;
		ck_assert_str_eq(s->res.version, "TLS1.3");
		ck_assert_str_eq(s->res.cipher, "AES-128-GCM");
		ck_assert_str_eq(s->res.group, "X25519");
		ck_assert_str_eq(s->res.signature, "EdDSA-Ed25519");
		ck_assert_uint_eq(s->res.signatures, 1);
		ck_assert_uint_eq(s->sign_calls, 1);
		ck_assert_uint_gt(s->res.record_limit, 0);
	}
	assert_peer_is(&p.server, &p.client);
	assert_peer_is(&p.client, &p.server);
	tls_result_format(&p.client.res, line, sizeof(line));
	ck_assert_msg(!strncmp(line,
			       "TLS1.3 AES-128-GCM X25519 EdDSA-Ed25519 "
			       "peer SHA256:",
			       52),
		      "%s", line);
	/* The socket is as the caller gave it: blocking. */
	ck_assert_int_eq(fcntl(p.server.fd, F_GETFL) & O_NONBLOCK, 0);
	/* Nothing follows the handshake on the wire (no session ticket, no
	 * KeyUpdate): kTLS would choke on any record but data. */
	usleep(100 * 1000);
	uint8_t byte;
	ck_assert_int_eq(recv(p.client.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT),
			 -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(recv(p.server.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT),
			 -1);
	ck_assert_int_eq(errno, EAGAIN);
	ktls_or_missing_module(&p);
	pinned_pair_free(&p);
}
END_TEST

/* read()/write() for the worker's seccomp filter: the same handshake. */
START_TEST(test_handshake_read_write)
{
	struct pinned_pair p;

	pinned_pair_init(&p);
	p.server.cfg.use_read_write = true;
	p.client.cfg.use_read_write = true;
	run_pair(&p.server, &p.client);
	ck_assert_msg(p.server.rc == 0, "server: %s", p.server.msg);
	ck_assert_msg(p.client.rc == 0, "client: %s", p.client.msg);
	ck_assert_uint_eq(p.server.sign_calls, 1);
	assert_peer_is(&p.server, &p.client);
	assert_peer_is(&p.client, &p.server);
	ktls_or_missing_module(&p);
	pinned_pair_free(&p);
}
END_TEST

static const struct {
	unsigned suites;
	const char *name;
} suite_rows[] = {
	{TLS_SUITE_CHACHA20_POLY1305, "CHACHA20-POLY1305"},
	{TLS_SUITE_AES_256_GCM, "AES-256-GCM"},
	{TLS_SUITE_AES_128_GCM, "AES-128-GCM"},
};

START_TEST(test_handshake_each_suite)
{
	struct pinned_pair p;

	pinned_pair_init(&p);
	p.server.cfg.suites = suite_rows[_i].suites;
	p.client.cfg.suites = suite_rows[_i].suites;
	run_pair(&p.server, &p.client);
	ck_assert_msg(p.server.rc == 0, "server: %s", p.server.msg);
	ck_assert_msg(p.client.rc == 0, "client: %s", p.client.msg);
	ck_assert_str_eq(p.client.res.cipher, suite_rows[_i].name);
	ck_assert_str_eq(p.server.res.cipher, suite_rows[_i].name);
	ktls_or_missing_module(&p);
	pinned_pair_free(&p);
}
END_TEST

START_TEST(test_handshake_wrong_server_key)
{
	struct pinned_pair p;
	struct side other;

	pinned_pair_init(&p);
	/* The client pins some other key, not the server's. */
	side_init(&other, TLS_ROLE_SERVER);
	p.client.pins.count = 0;
	pin_peer(&p.client, &other);
	run_pair(&p.server, &p.client);
	ck_assert_int_eq(p.client.rc, -EACCES);
	assert_one_line(p.client.msg, "is not pinned");
	char pin[TLS_PIN_TEXT_SIZE];
	struct tls_pin server_pin;
	tls_key_pin(p.server.key, &server_pin);
	tls_pin_format(&server_pin, pin);
	assert_one_line(p.client.msg, pin);
	ck_assert_int_lt(p.server.rc, 0);
	assert_one_line(p.server.msg, "");
	ck_assert_ptr_null(p.client.session);
	side_free(&other);
	pinned_pair_free(&p);
}
END_TEST

START_TEST(test_handshake_unpinned_client)
{
	struct pinned_pair p;

	pinned_pair_init(&p);
	p.server.pins.count = 0;
	run_pair(&p.server, &p.client);
	ck_assert_int_eq(p.server.rc, -EACCES);
	assert_one_line(p.server.msg, "is not pinned");
	ck_assert_ptr_null(p.server.session);
	/* TLS 1.3: the client is done before the server judges its key.
	 * It learns the verdict on its first read: an alert, which under
	 * kTLS is a receive error. */
	ck_assert_int_eq(p.client.rc, 0);
	uint8_t byte;
	ck_assert_int_eq(
		gnutls_record_recv(tls_session_gnutls(p.client.session), &byte,
				   1),
		GNUTLS_E_FATAL_ALERT_RECEIVED);
	pinned_pair_free(&p);
}
END_TEST

/* OP_REQ_DEVLIST: version 0x0111, code 0x8005, status 0. */
static const uint8_t op_req_devlist[8] = {0x01, 0x11, 0x80, 0x05, 0, 0, 0, 0};

START_TEST(test_plain_usbip_client)
{
	struct side server;
	int client_fd;
	struct timespec t0, t1;

	side_init(&server, TLS_ROLE_SERVER);
	tcp_pair(&client_fd, &server.fd);
	write_all(client_fd, op_req_devlist, sizeof(op_req_devlist));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	handshake_thread(&server);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(server.rc, -EPROTO);
	assert_one_line(server.msg, "plain USB/IP");
	/* Refused at once, not at the deadline. */
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 2);
	close(client_fd);
	side_free(&server);
}
END_TEST

/* A plain USB/IP server answers whatever it got with a reply header. */
static void *plain_usbip_server(void *arg)
{
	int fd = *(int *)arg;
	uint8_t buf[8];
	static const uint8_t rep[8] = {0x01, 0x11, 0x00, 0x05, 0, 0, 0, 1};

	if (read(fd, buf, sizeof(buf)) > 0 &&
	    write(fd, rep, sizeof(rep)) != sizeof(rep))
		return NULL;
	shutdown(fd, SHUT_WR);
	return NULL;
}

START_TEST(test_plain_usbip_server)
{
	struct side client;
	int server_fd;
	pthread_t t;

	side_init(&client, TLS_ROLE_CLIENT);
	tcp_pair(&client.fd, &server_fd);
	ck_assert_int_eq(
		pthread_create(&t, NULL, plain_usbip_server, &server_fd), 0);
	handshake_thread(&client);
	pthread_join(t, NULL);
	ck_assert_int_eq(client.rc, -EPROTO);
	assert_one_line(client.msg, "plain USB/IP");
	close(server_fd);
	side_free(&client);
}
END_TEST

/* A GnuTLS client that offers TLS 1.2 and nothing newer. */
static void *tls12_client(void *arg)
{
	int fd = *(int *)arg;
	gnutls_certificate_credentials_t cred;
	gnutls_session_t g;

	gnutls_certificate_allocate_credentials(&cred);
	gnutls_init(&g, GNUTLS_CLIENT);
	gnutls_priority_set_direct(g, "NORMAL:-VERS-ALL:+VERS-TLS1.2", NULL);
	gnutls_credentials_set(g, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(g, fd);
	gnutls_handshake_set_timeout(g, TIMEOUT_MS);
	int r = gnutls_handshake(g);
	gnutls_deinit(g);
	gnutls_certificate_free_credentials(cred);
	return (void *)(intptr_t)r;
}

START_TEST(test_tls12_client_refused)
{
	struct side server;
	int client_fd;
	pthread_t t;
	void *client_rc;

	side_init(&server, TLS_ROLE_SERVER);
	tcp_pair(&client_fd, &server.fd);
	ck_assert_int_eq(pthread_create(&t, NULL, tls12_client, &client_fd), 0);
	handshake_thread(&server);
	pthread_join(t, &client_rc);
	ck_assert_int_eq(server.rc, -EPROTO);
	assert_one_line(server.msg, "no TLS 1.3");
	ck_assert_int_lt((intptr_t)client_rc, 0);
	ck_assert_uint_eq(server.sign_calls, 0);
	close(client_fd);
	side_free(&server);
}
END_TEST

/* A TLS 1.3 client that has no key to show (X.509 type, none loaded). */
static void *keyless_client(void *arg)
{
	int fd = *(int *)arg;
	gnutls_certificate_credentials_t cred;
	gnutls_session_t g;

	gnutls_certificate_allocate_credentials(&cred);
	gnutls_init(&g, GNUTLS_CLIENT | GNUTLS_ENABLE_RAWPK);
	gnutls_priority_set_direct(
		g, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+CTYPE-ALL", NULL);
	gnutls_credentials_set(g, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(g, fd);
	gnutls_handshake_set_timeout(g, TIMEOUT_MS);
	int r = gnutls_handshake(g);
	gnutls_deinit(g);
	gnutls_certificate_free_credentials(cred);
	return (void *)(intptr_t)r;
}

START_TEST(test_keyless_client_refused)
{
	struct side server;
	int client_fd;
	pthread_t t;

	side_init(&server, TLS_ROLE_SERVER);
	tcp_pair(&client_fd, &server.fd);
	ck_assert_int_eq(pthread_create(&t, NULL, keyless_client, &client_fd),
			 0);
	handshake_thread(&server);
	pthread_join(t, NULL);
	ck_assert_int_eq(server.rc, -EACCES);
	assert_one_line(server.msg, "no raw public key");
	ck_assert_ptr_null(server.session);
	close(client_fd);
	side_free(&server);
}
END_TEST

/* The shape of the broker's part: the key lives in another process,
 * which answers one request per datagram with tls_key_sign's checks. */
static void signer_process(int sock, struct tls_key *key)
{
	uint8_t req[512], sig[TLS_SIGNATURE_MAX + 4];
	ssize_t n;

	while ((n = recv(sock, req, sizeof(req), 0)) > 0) {
		size_t len = 0;
		int32_t r = tls_key_sign(key, TLS_ROLE_SERVER, req, (size_t)n,
					 sig + 4, TLS_SIGNATURE_MAX, &len);
		memcpy(sig, &r, 4);
		if (send(sock, sig, 4 + (r ? 0 : len), 0) < 0)
			break;
	}
	_exit(0);
}

struct remote_signer {
	int sock;
	unsigned requests;
};

static int remote_sign(void *ctx, enum tls_role role, const uint8_t *tbs,
		       size_t tbs_len, uint8_t *sig, size_t cap,
		       size_t *sig_len)
{
	struct remote_signer *rs = ctx;
	uint8_t answer[TLS_SIGNATURE_MAX + 4];
	int32_t r;

	(void)role;
	rs->requests++;
	if (send(rs->sock, tbs, tbs_len, 0) != (ssize_t)tbs_len)
		return -EIO;
	ssize_t n = recv(rs->sock, answer, sizeof(answer), 0);
	if (n < 4)
		return -EIO;
	memcpy(&r, answer, 4);
	if (r < 0)
		return r;
	if ((size_t)n - 4 > cap)
		return -ENOSPC;
	memcpy(sig, answer + 4, (size_t)n - 4);
	*sig_len = (size_t)n - 4;
	return 0;
}

START_TEST(test_signer_in_another_process)
{
	struct pinned_pair p;
	struct remote_signer rs = {0};
	int sv[2];

	pinned_pair_init(&p);
	ck_assert_int_eq(
		socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		signer_process(sv[1], p.server.key);
	}
	close(sv[1]);
	/* From here the server end has no private key at all. */
	tls_key_free(p.server.key);
	p.server.key = NULL;
	rs.sock = sv[0];
	p.server.id.sign = remote_sign;
	p.server.id.sign_ctx = &rs;
	run_pair(&p.server, &p.client);
	ck_assert_msg(p.server.rc == 0, "server: %s", p.server.msg);
	ck_assert_msg(p.client.rc == 0, "client: %s", p.client.msg);
	ck_assert_uint_eq(rs.requests, 1);
	ck_assert_uint_eq(p.server.res.signatures, 1);
	/* The client saw the key the other process holds. */
	struct tls_pin pin;
	ck_assert_int_eq(
		tls_pin_of_spki(p.server.id.spki, p.server.id.spki_len, &pin),
		0);
	ck_assert(tls_pin_equal(&p.client.res.peer, &pin));

	/* The same signer asked for a client CertificateVerify, or for
	 * anything else, refuses. */
	uint8_t tbs[256], sig[TLS_SIGNATURE_MAX];
	size_t len = certificate_verify(TLS_ROLE_CLIENT, tbs, 32), sig_len;
	ck_assert_int_eq(remote_sign(&rs, TLS_ROLE_SERVER, tbs, len, sig,
				     sizeof(sig), &sig_len),
			 -EINVAL);
	ck_assert_int_eq(remote_sign(&rs, TLS_ROLE_SERVER,
				     (const uint8_t *)"a USB/IP request", 16,
				     sig, sizeof(sig), &sig_len),
			 -EINVAL);
	close(sv[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	pinned_pair_free(&p);
}
END_TEST

START_TEST(test_signer_fails)
{
	struct pinned_pair p;

	pinned_pair_init(&p);
	p.server.sign_fail = -EIO;
	run_pair(&p.server, &p.client);
	ck_assert_int_eq(p.server.rc, -EIO);
	assert_one_line(p.server.msg, "signing the handshake failed");
	ck_assert_uint_eq(p.server.sign_calls, 1);
	ck_assert_int_lt(p.client.rc, 0);
	assert_one_line(p.client.msg, "");
	pinned_pair_free(&p);
}
END_TEST

START_TEST(test_signer_with_another_key)
{
	struct pinned_pair p;

	pinned_pair_init(&p);
	ck_assert_int_eq(tls_key_generate(&p.client.sign_with), 0);
	run_pair(&p.server, &p.client);
	ck_assert_int_eq(p.client.rc, -EKEYREJECTED);
	assert_one_line(p.client.msg, "does not match our public key");
	ck_assert_int_lt(p.server.rc, 0);
	pinned_pair_free(&p);
}
END_TEST

static void assert_deadline(struct side *s, int timeout_ms)
{
	struct timespec t0, t1;

	s->cfg.timeout_ms = timeout_ms;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	handshake_thread(s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		  (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_eq(s->rc, -ETIMEDOUT);
	assert_one_line(s->msg, "timed out after");
	ck_assert_int_ge(ms, timeout_ms - 5);
	ck_assert_int_lt(ms, timeout_ms + 1000);
}

START_TEST(test_stalled_client)
{
	struct side server;
	int client_fd;

	side_init(&server, TLS_ROLE_SERVER);
	tcp_pair(&client_fd, &server.fd);
	assert_deadline(&server, 300);
	close(client_fd);
	side_free(&server);
}
END_TEST

START_TEST(test_stalled_server)
{
	struct side client;
	int server_fd;

	side_init(&client, TLS_ROLE_CLIENT);
	tcp_pair(&client.fd, &server_fd);
	assert_deadline(&client, 300);
	close(server_fd);
	side_free(&client);
}
END_TEST

/* A client that sends its first bytes and then nothing: the deadline is
 * for the whole handshake, not per read. */
START_TEST(test_trickling_client)
{
	struct side server;
	int client_fd;
	/* A handshake record header announcing 512 bytes, then silence. */
	static const uint8_t head[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};

	side_init(&server, TLS_ROLE_SERVER);
	tcp_pair(&client_fd, &server.fd);
	write_all(client_fd, head, sizeof(head));
	assert_deadline(&server, 300);
	close(client_fd);
	side_free(&server);
}
END_TEST

/* A ClientHello that announces 64 KiB and keeps coming: refused once
 * 32 KiB are read, not buffered until the deadline. */
START_TEST(test_oversized_client_hello)
{
	struct side server;
	int client_fd;
	struct timespec t0, t1;
	static const uint8_t head[] = {0x16, 0x03, 0x01, 0x40, 0x00,
				       0x01, 0x01, 0x00, 0x00};
	static uint8_t filler[16384 - 4];

	side_init(&server, TLS_ROLE_SERVER);
	tcp_pair(&client_fd, &server.fd);
	static const uint8_t next[] = {0x16, 0x03, 0x01, 0x40, 0x00};
	write_all(client_fd, head, sizeof(head));
	write_all(client_fd, filler, sizeof(filler));
	write_all(client_fd, next, sizeof(next));
	write_all(client_fd, filler, sizeof(filler));
	write_all(client_fd, next, sizeof(next));
	write_all(client_fd, filler, sizeof(filler));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	handshake_thread(&server);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(server.rc, -EMSGSIZE);
	assert_one_line(server.msg, "more than 32 KiB of handshake");
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 2);
	close(client_fd);
	side_free(&server);
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct side s;
	struct tls_session *session = (void *)1;

	side_init(&s, TLS_ROLE_CLIENT);
	s.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	s.cfg.timeout_ms = 0;
	ck_assert_int_eq(tls_handshake(s.fd, &s.cfg, &session, NULL, s.msg,
				       sizeof(s.msg)),
			 -EINVAL);
	ck_assert_ptr_null(session);
	s.cfg.timeout_ms = 100;
	s.cfg.suites = 1u << 7;
	ck_assert_int_eq(tls_handshake(s.fd, &s.cfg, &session, NULL, s.msg,
				       sizeof(s.msg)),
			 -EINVAL);
	s.cfg.suites = 0;
	s.id.spki_len = 3;
	ck_assert_int_eq(tls_handshake(s.fd, &s.cfg, &session, NULL, s.msg,
				       sizeof(s.msg)),
			 -EINVAL);
	assert_one_line(s.msg, "not an Ed25519 SPKI");
	side_free(&s);
}
END_TEST

/* Data the peer sends right after its Finished stays in the socket for
 * the kernel; only a record the library already took is refused. */
START_TEST(test_drained_after_handshake)
{
	struct pinned_pair p;
	char msg[256] = "";
	uint8_t buf[16];

	pinned_pair_init(&p);
	run_pair(&p.server, &p.client);
	ck_assert_msg(p.server.rc == 0, "server: %s", p.server.msg);
	ck_assert_msg(p.client.rc == 0, "client: %s", p.client.msg);
	gnutls_session_t client = tls_session_gnutls(p.client.session);
	gnutls_session_t server = tls_session_gnutls(p.server.session);

	/* The client speaks first, in userspace; the server has not read. */
	ck_assert_int_eq(gnutls_record_send(client, "0123456789", 10), 10);
	usleep(50 * 1000);
	ck_assert_int_eq(
		tls_session_drained(p.server.session, msg, sizeof(msg)), 0);
	/* ... and the record is still in the socket, whole. */
	ck_assert_int_eq(recv(p.server.fd, buf, 5, MSG_PEEK), 5);
	ck_assert_uint_eq(buf[0], 0x17); /* application_data */

	/* Once the library has taken part of it, kTLS would miss the rest. */
	ck_assert_int_eq(gnutls_record_recv(server, buf, 4), 4);
	ck_assert_int_eq(
		tls_session_drained(p.server.session, msg, sizeof(msg)),
		-EPROTO);
	assert_one_line(msg, "buffered");
	ck_assert_int_eq(tls_ktls_install(p.server.fd, p.server.session, msg,
					  sizeof(msg)),
			 -EPROTO);

	/* A whole record the library read but nobody consumed. */
	ck_assert_int_eq(gnutls_record_send(server, "abc", 3), 3);
	ck_assert_int_eq(gnutls_record_send(server, "def", 3), 3);
	usleep(50 * 1000);
	ck_assert_int_eq(gnutls_record_recv(client, buf, 3), 3);
	ck_assert_int_eq(
		tls_session_drained(p.client.session, msg, sizeof(msg)),
		0); /* "def" is still in the socket */

	/* Half a record taken by the library (it waits for the rest): the
	 * kernel would start in the middle of it. */
	static const uint8_t half[] = {0x17, 0x03, 0x03, 0x00, 0x40,
				       1,    2,	   3,	 4,    5};
	uint8_t record[64];
	/* "def" as it is on the wire: header, data, content type, tag. */
	ck_assert_int_eq(recv(p.client.fd, record, sizeof(record), 0),
			 5 + 3 + 1 + 16);
	ck_assert_int_eq(send(p.server.fd, half, sizeof(half), 0),
			 (ssize_t)sizeof(half));
	usleep(50 * 1000);
	ck_assert_int_eq(fcntl(p.client.fd, F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(gnutls_record_recv(client, record, sizeof(record)),
			 GNUTLS_E_AGAIN);
	ck_assert_int_eq(gnutls_record_check_pending(client), 0);
	ck_assert_int_eq(
		tls_session_drained(p.client.session, msg, sizeof(msg)),
		-EPROTO);
	assert_one_line(msg, "before the kernel took over");
	pinned_pair_free(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls");
	TCase *pins = tcase_create("pins");
	TCase *keys = tcase_create("keys");
	TCase *hs = tcase_create("handshake");
	/* The cases that reach kTLS where tls.ko is loaded: what the
	 * tls-ktls guest scenario runs (CK_RUN_CASE=ktls). */
	TCase *ktls = tcase_create("ktls");

	tcase_add_test(pins, test_pin_format_vector);
	tcase_add_test(pins, test_pin_round_trip_all_bytes);
	tcase_add_test(pins, test_pin_hostile);
	tcase_add_test(pins, test_pins_add);
	suite_add_tcase(s, pins);

	tcase_add_checked_fixture(keys, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(keys, test_keygen_modes_and_pins);
	tcase_add_test(keys, test_keygen_never_overwrites);
	tcase_add_test(keys, test_key_load_refusals);
	tcase_add_test(keys, test_sign_oracle_refuses_other_content);
	suite_add_tcase(s, keys);

	tcase_set_timeout(ktls, 30);
	tcase_add_test(ktls, test_handshake_pinned);
	tcase_add_test(ktls, test_handshake_read_write);
	tcase_add_loop_test(ktls, test_handshake_each_suite, 0,
			    sizeof(suite_rows) / sizeof(suite_rows[0]));
	suite_add_tcase(s, ktls);

	tcase_set_timeout(hs, 30);
	tcase_add_test(hs, test_handshake_wrong_server_key);
	tcase_add_test(hs, test_handshake_unpinned_client);
	tcase_add_test(hs, test_plain_usbip_client);
	tcase_add_test(hs, test_plain_usbip_server);
	tcase_add_test(hs, test_tls12_client_refused);
	tcase_add_test(hs, test_keyless_client_refused);
	tcase_add_test(hs, test_signer_in_another_process);
	tcase_add_test(hs, test_signer_fails);
	tcase_add_test(hs, test_signer_with_another_key);
	tcase_add_test(hs, test_stalled_client);
	tcase_add_test(hs, test_stalled_server);
	tcase_add_test(hs, test_trickling_client);
	tcase_add_test(hs, test_oversized_client_hello);
	tcase_add_test(hs, test_bad_arguments);
	tcase_add_test(hs, test_drained_after_handshake);
	suite_add_tcase(s, hs);
	return run_suite(s);
}
