// SPDX-License-Identifier: GPL-2.0-or-later
/* Ed25519 identity keys: generation, files, pins and the signing oracle.
 * Every cryptographic operation is GnuTLS's. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "macros.h"
#include "tls_key.h"
#include "log.h"

struct tls_key {
	gnutls_privkey_t priv;
};

/* RFC 8446 section 4.4.3. */
#define CV_PAD_LEN 64
static const char cv_server_context[] = "TLS 1.3, server CertificateVerify";
static const char cv_client_context[] = "TLS 1.3, client CertificateVerify";

/* Declared in tls_pin.h; here because it is the one part of pins that
 * needs GnuTLS (the hash). */
int tls_pin_of_spki(const uint8_t *spki, size_t len, struct tls_pin *out)
{
	if (!spki || !len)
		return -EINVAL;
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, spki, len, out->sha256) < 0)
		return -EIO;
	return 0;
}

static void wipe_datum(gnutls_datum_t *d)
{
	if (d->data) {
		gnutls_memset(d->data, 0, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

void tls_key_free(struct tls_key *key)
{
	if (!key)
		return;
	gnutls_privkey_deinit(key->priv);
	free(key);
}

static int key_from_privkey(gnutls_privkey_t priv, struct tls_key **out)
{
	struct tls_key *key = calloc(1, sizeof(*key));

	if (!key) {
		gnutls_privkey_deinit(priv);
		return -ENOMEM;
	}
	key->priv = priv;
	*out = key;
	return 0;
}

int tls_key_generate(struct tls_key **out)
{
	gnutls_privkey_t priv;

	if (gnutls_privkey_init(&priv) < 0)
		return -ENOMEM;
	if (gnutls_privkey_generate2(
		    priv, GNUTLS_PK_EDDSA_ED25519,
		    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519), 0, NULL,
		    0) < 0) {
		gnutls_privkey_deinit(priv);
		return -EIO;
	}
	return key_from_privkey(priv, out);
}

static int public_of(const struct tls_key *key, gnutls_pubkey_t *out)
{
	gnutls_pubkey_t pub;

	if (gnutls_pubkey_init(&pub) < 0)
		return -ENOMEM;
	if (gnutls_pubkey_import_privkey(pub, key->priv, 0, 0) < 0) {
		gnutls_pubkey_deinit(pub);
		return -EIO;
	}
	*out = pub;
	return 0;
}

static int spki_pin(gnutls_pubkey_t pub, struct tls_pin *pin)
{
	gnutls_datum_t der = {0};

	if (gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der) < 0)
		return -EIO;
	int r = tls_pin_of_spki(der.data, der.size, pin);
	gnutls_free(der.data);
	return r;
}

int tls_key_spki(const struct tls_key *key, uint8_t *spki, size_t cap,
		 size_t *len)
{
	gnutls_datum_t der = {0};
	gnutls_pubkey_t pub;
	int r = public_of(key, &pub);

	if (r < 0)
		return r;
	if (gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der) < 0)
		r = -EIO;
	else if (der.size > cap)
		r = -ENOSPC;
	else {
		memcpy(spki, der.data, der.size);
		*len = der.size;
	}
	gnutls_free(der.data);
	gnutls_pubkey_deinit(pub);
	return r;
}

int tls_key_pin(const struct tls_key *key, struct tls_pin *out)
{
	gnutls_pubkey_t pub;
	int r = public_of(key, &pub);

	if (r < 0)
		return r;
	r = spki_pin(pub, out);
	gnutls_pubkey_deinit(pub);
	return r;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates NAME in dirfd with exactly MODE (whatever the umask) and
 * writes data; never replaces anything (O_EXCL also refuses a symlink). */
static int create_file(int dirfd, const char *name, mode_t mode,
		       const gnutls_datum_t *data, bool *created)
{
	_cleanup_close_ int fd = openat(
		dirfd, name,
		O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	*created = true;
	if (fchmod(fd, mode) < 0)
		return -errno;
	int r = write_all(fd, data->data, data->size);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	return r;
}

int tls_key_write(const struct tls_key *key, const char *dir, char *msg,
		  size_t msg_len)
{
	gnutls_datum_t priv_pem = {0}, pub_pem = {0};
	gnutls_x509_privkey_t x509 = NULL;
	gnutls_pubkey_t pub = NULL;
	bool key_created = false, pub_created = false;
	int r;

	_cleanup_close_ int dirfd =
		open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		r = -errno;
		log_fail(0, msg, msg_len, "%s: %s", dir, strerror(-r));
		return r;
	}
	r = public_of(key, &pub);
	if (r < 0 || gnutls_privkey_export_x509(key->priv, &x509) < 0 ||
	    gnutls_x509_privkey_export2_pkcs8(x509, GNUTLS_X509_FMT_PEM, NULL,
					      GNUTLS_PKCS_PLAIN,
					      &priv_pem) < 0 ||
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &pub_pem) < 0) {
		r = r < 0 ? r : -EIO;
		log_fail(0, msg, msg_len, "cannot encode the key");
		goto out;
	}
	const char *name = TLS_KEY_FILE;
	r = create_file(dirfd, name, 0600, &priv_pem, &key_created);
	if (r == 0) {
		name = TLS_PUB_FILE;
		r = create_file(dirfd, name, 0644, &pub_pem, &pub_created);
	}
	if (r < 0)
		log_fail(0, msg, msg_len, "%s/%s: %s%s", dir, name,
			 strerror(-r),
			 r == -EEXIST ? " (a key is never overwritten)" : "");
	else if (fsync(dirfd) < 0) {
		r = -errno;
		log_fail(0, msg, msg_len, "%s: fsync: %s", dir, strerror(-r));
	}
out:
	/* Only what this call created goes again. */
	if (r < 0 && pub_created)
		unlinkat(dirfd, TLS_PUB_FILE, 0);
	if (r < 0 && key_created)
		unlinkat(dirfd, TLS_KEY_FILE, 0);
	wipe_datum(&priv_pem);
	gnutls_free(pub_pem.data);
	gnutls_x509_privkey_deinit(x509);
	gnutls_pubkey_deinit(pub);
	return r;
}

/* Reads a whole small regular file; with private set, also insists that
 * only its owner (this user or root) can read it. */
static int read_key_file(const char *path, bool private, gnutls_datum_t *out,
			 char *msg, size_t msg_len)
{
	struct stat st;
	int r;

	/* O_NONBLOCK: a FIFO or a device there must be refused by the
	 * fstat below, not hang the start waiting for a writer; a regular
	 * file reads the same. */
	_cleanup_close_ int fd = open(
		path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		log_fail(0, msg, msg_len, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > TLS_KEY_FILE_MAX) {
		log_fail(0, msg, msg_len,
			 "%s: not a key file (a regular file of "
			 "at most %d bytes)",
			 path, TLS_KEY_FILE_MAX);
		return -EINVAL;
	}
	if (private && ((st.st_mode & 077) ||
			(st.st_uid != geteuid() && st.st_uid != 0))) {
		log_fail(0, msg, msg_len,
			 "%s: mode %04o owner %u: a private key must be mode "
			 "0600 (or stricter) and owned by this user or root",
			 path, (unsigned)(st.st_mode & 07777),
			 (unsigned)st.st_uid);
		return -EPERM;
	}
	out->data = gnutls_malloc((size_t)st.st_size);
	if (!out->data)
		return -ENOMEM;
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, out->data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			log_fail(0, msg, msg_len, "%s: short read", path);
			out->size = (unsigned)got;
			wipe_datum(out);
			return r;
		}
		got += (size_t)n;
	}
	out->size = (unsigned)got;
	return 0;
}

static int import_private(const gnutls_datum_t *pem, const char *path,
			  gnutls_privkey_t *out, char *msg, size_t msg_len)
{
	gnutls_privkey_t priv;

	if (gnutls_privkey_init(&priv) < 0)
		return -ENOMEM;
	if (gnutls_privkey_import_x509_raw(priv, pem, GNUTLS_X509_FMT_PEM, NULL,
					   0) < 0) {
		gnutls_privkey_deinit(priv);
		log_fail(0, msg, msg_len, "%s: not a PEM private key", path);
		return -EINVAL;
	}
	if (gnutls_privkey_get_pk_algorithm(priv, NULL) !=
	    GNUTLS_PK_EDDSA_ED25519) {
		gnutls_privkey_deinit(priv);
		log_fail(0, msg, msg_len, "%s: not an Ed25519 key", path);
		return -EINVAL;
	}
	*out = priv;
	return 0;
}

int tls_key_load(const char *path, struct tls_key **out, char *msg,
		 size_t msg_len)
{
	gnutls_datum_t pem = {0};
	gnutls_privkey_t priv;

	int r = read_key_file(path, true, &pem, msg, msg_len);
	if (r < 0)
		return r;
	r = import_private(&pem, path, &priv, msg, msg_len);
	wipe_datum(&pem);
	if (r < 0)
		return r;
	return key_from_privkey(priv, out);
}

int tls_pin_of_file(const char *path, struct tls_pin *out, char *msg,
		    size_t msg_len)
{
	gnutls_datum_t pem = {0};
	gnutls_pubkey_t pub = NULL;
	int r = read_key_file(path, false, &pem, msg, msg_len);

	if (r < 0)
		return r;
	if (memmem(pem.data, pem.size, "PRIVATE KEY", 11)) {
		struct tls_key *key;
		gnutls_privkey_t priv;
		r = import_private(&pem, path, &priv, msg, msg_len);
		if (r == 0 && (r = key_from_privkey(priv, &key)) == 0) {
			r = tls_key_pin(key, out);
			tls_key_free(key);
		}
	} else if (gnutls_pubkey_init(&pub) < 0) {
		r = -ENOMEM;
	} else if (gnutls_pubkey_import(pub, &pem, GNUTLS_X509_FMT_PEM) < 0) {
		log_fail(0, msg, msg_len, "%s: not a PEM public or private key",
			 path);
		r = -EINVAL;
	} else if (gnutls_pubkey_get_pk_algorithm(pub, NULL) !=
		   GNUTLS_PK_EDDSA_ED25519) {
		log_fail(0, msg, msg_len, "%s: not an Ed25519 key", path);
		r = -EINVAL;
	} else {
		r = spki_pin(pub, out);
	}
	gnutls_pubkey_deinit(pub);
	wipe_datum(&pem);
	return r;
}

int tls_certificate_verify_check(enum tls_role role, const uint8_t *tbs,
				 size_t tbs_len)
{
	const char *context =
		role == TLS_ROLE_SERVER ? cv_server_context : cv_client_context;
	/* Both context strings have the same length. */
	const size_t head = CV_PAD_LEN + sizeof(cv_server_context);

	if (!tbs || (tbs_len != head + 32 && tbs_len != head + 48))
		return -EINVAL;
	for (size_t i = 0; i < CV_PAD_LEN; i++)
		if (tbs[i] != 0x20)
			return -EINVAL;
	/* sizeof includes the NUL, which is the separator byte. */
	if (memcmp(tbs + CV_PAD_LEN, context, sizeof(cv_server_context)))
		return -EINVAL;
	return 0;
}

int tls_key_sign(const struct tls_key *key, enum tls_role role,
		 const uint8_t *tbs, size_t tbs_len, uint8_t *sig, size_t cap,
		 size_t *sig_len)
{
	gnutls_datum_t data = {(unsigned char *)tbs, (unsigned)tbs_len};
	gnutls_datum_t out = {0};
	int r = tls_certificate_verify_check(role, tbs, tbs_len);

	if (r < 0)
		return r;
	if (gnutls_privkey_sign_data2(key->priv, GNUTLS_SIGN_EDDSA_ED25519, 0,
				      &data, &out) < 0)
		return -EIO;
	if (out.size > cap)
		r = -ENOSPC;
	else {
		memcpy(sig, out.data, out.size);
		*sig_len = out.size;
	}
	gnutls_free(out.data);
	return r;
}
