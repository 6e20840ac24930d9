// SPDX-License-Identifier: GPL-2.0-or-later
#include "usbfs_quota.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The parameter is an unsigned decimal and a newline. */
#define QUOTA_TEXT_MAX 24
#define QUOTA_MB_MAX (1ul << 30)

int usbfs_quota_read(const char *path, unsigned long *mb)
{
	char text[QUOTA_TEXT_MAX];
	ssize_t n;
	char *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	text[n] = 0;
	if (n > 0 && text[n - 1] == '\n')
		text[--n] = 0;
	if (n == 0 || text[0] < '0' || text[0] > '9')
		return -EBADMSG;
	errno = 0;
	*mb = strtoul(text, &end, 10);
	if (errno || *end || *mb > QUOTA_MB_MAX)
		return -EBADMSG;
	return 0;
}

int usbfs_quota_raise(const char *path, unsigned long want_mb,
		      unsigned long *mb)
{
	char text[QUOTA_TEXT_MAX];
	int r = usbfs_quota_read(path, mb), fd, len;

	if (r < 0)
		return r;
	if (*mb == 0 || *mb >= want_mb)
		return 0;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(text, sizeof(text), "%lu\n", want_mb);
	if (write(fd, text, (size_t)len) != len) {
		r = -errno;
		close(fd);
		return r ? r : -EIO;
	}
	close(fd);
	return usbfs_quota_read(path, mb);
}

uint64_t usbfs_session_share_kib(unsigned long quota_mb, unsigned max_sessions)
{
	if (quota_mb == 0)
		return USBFS_SHARE_UNLIMITED_KIB;
	return ((uint64_t)quota_mb << 10) / ((uint64_t)max_sessions + 1);
}
