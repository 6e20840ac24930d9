// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Which file systems live on a USB device: its block devices are the
 * entries of /sys/class/block whose sysfs path lies under the device's,
 * plus whatever is stacked on them (holders: dm-crypt, LVM, md); their
 * numbers are then looked up in mountinfo.
 */
#include "mounts.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"

/* Holders of holders: dm on md on a partition is three; more is a loop. */
#define MOUNTS_MAX_DEPTH 4
/* mountinfo lines are the kernel's, but read in pieces of this bound: a
 * longer line (a mount point of many escaped bytes, long options) is
 * judged by its first piece, which holds the device number and the start
 * of the mount point, and the rest is skipped. */
#define MOUNTINFO_LINE_MAX 8192

struct block {
	unsigned major, minor;
	char name[32];
};

struct blocks {
	struct block b[MOUNTS_MAX_BLOCK];
	size_t n;
	bool overflow; /* more than fit, or stacked too deep: not all seen */
};

static bool read_dev(const char *sys_root, const char *name, unsigned *major,
		     unsigned *minor)
{
	char path[PATH_MAX], text[32], tail;
	bool ok = false;

	snprintf(path, sizeof(path), "%s/class/block/%s/dev", sys_root, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(text, sizeof(text), f) &&
	    sscanf(text, "%u:%u%c", major, minor, &tail) == 3 && tail == '\n')
		ok = true;
	fclose(f);
	return ok;
}

static void add_block(struct blocks *set, const char *sys_root,
		      const char *name, int depth)
{
	struct block *blk;
	char path[PATH_MAX];

	if (strlen(name) >= sizeof(blk->name) || strchr(name, '/'))
		return;
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->b[i].name, name))
			return;
	/* One not looked at could be the mounted one: say so, not "none"
	 * (a stick can bring 128 GPT partitions). */
	if (set->n == MOUNTS_MAX_BLOCK || depth > MOUNTS_MAX_DEPTH) {
		set->overflow = true;
		return;
	}
	blk = &set->b[set->n];
	if (!read_dev(sys_root, name, &blk->major, &blk->minor))
		return;
	snprintf(blk->name, sizeof(blk->name), "%s", name);
	set->n++;

	snprintf(path, sizeof(path), "%s/class/block/%s/holders", sys_root,
		 name);
	DIR *dir = opendir(path);
	if (!dir)
		return;
	for (struct dirent *e; (e = readdir(dir));)
		if (e->d_name[0] != '.')
			add_block(set, sys_root, e->d_name, depth + 1);
	closedir(dir);
}

/* The block devices whose sysfs node lies under busid's. */
static int blocks_of(const char *sys_root, const char *busid,
		     struct blocks *set)
{
	char path[PATH_MAX], device[PATH_MAX], node[PATH_MAX];
	size_t len;

	set->n = 0;
	set->overflow = false;
	snprintf(path, sizeof(path), "%s/bus/usb/devices/%s", sys_root, busid);
	if (!realpath(path, device))
		return -errno;
	len = strlen(device);
	snprintf(path, sizeof(path), "%s/class/block", sys_root);
	DIR *dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? 0 : -errno; /* no block layer */
	for (struct dirent *e; (e = readdir(dir));) {
		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/class/block/%s",
				     sys_root, e->d_name) >= sizeof(path) ||
		    !realpath(path, node))
			continue;
		if (!strncmp(node, device, len) && node[len] == '/')
			add_block(set, sys_root, e->d_name, 0);
	}
	closedir(dir);
	return set->overflow ? -E2BIG : 0;
}

/* Appends "PATH (NAME)" to out, unprintable bytes as '?', "..." when
 * out is full. */
static void append_mount(char *out, size_t out_len, const char *point,
			 const char *name)
{
	size_t used = strlen(out);
	char shown[256];
	size_t i;

	for (i = 0; point[i] && i + 1 < sizeof(shown); i++)
		shown[i] = point[i] > 0x20 && point[i] < 0x7f ? point[i] : '?';
	shown[i] = '\0';
	int n = snprintf(out + used, out_len - used, "%s%s (%s)",
			 used ? ", " : "", shown, name);
	if ((n < 0 || (size_t)n >= out_len - used) && out_len >= 4)
		memcpy(out + out_len - 4, "...", 4);
}

/* The block devices of set that are swap areas: /proc/swaps names them
 * by path (/dev/sda1, /dev/mapper/NAME -> ../dm-1), not by number. A
 * swap partition is in no mountinfo, and pulling it loses pages. */
static int swaps_on(const struct blocks *set, const char *swaps, char *out,
		    size_t out_len)
{
	char line[MOUNTINFO_LINE_MAX], real[PATH_MAX];
	bool skipping = false, header = true;
	int found = 0;

	FILE *f = fopen(swaps, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno; /* no swap support */
	while (fgets(line, sizeof(line), f)) {
		bool rest = skipping || header;
		skipping = !strchr(line, '\n');
		header = false;
		char *save = NULL, *path = strtok_r(line, " \t\n", &save);
		if (rest || !path)
			continue;
		const char *name = realpath(path, real) ? real : path;
		/* A device node, not a swap file that happens to be called
		 * sda1. */
		if (strncmp(name, "/dev/", 5) || strchr(name + 5, '/'))
			continue;
		name += 5;
		for (size_t i = 0; i < set->n; i++) {
			if (strcmp(set->b[i].name, name))
				continue;
			append_mount(out, out_len, "[swap]", name);
			found++;
			break;
		}
	}
	fclose(f);
	return found;
}

int mounts_of_usb_device(const char *sys_root, const char *mountinfo,
			 const char *swaps, const char *busid, char *out,
			 size_t out_len)
{
	struct blocks set;
	char line[MOUNTINFO_LINE_MAX];
	bool skipping = false;
	int found = 0, r;

	if (out_len)
		out[0] = '\0';
	r = blocks_of(sys_root, busid, &set);
	if (r < 0 || set.n == 0)
		return r;
	FILE *f = fopen(mountinfo, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		bool whole = strchr(line, '\n') != NULL;
		bool rest = skipping;
		skipping = !whole;
		if (rest)
			continue;
		/* ID PARENT MAJOR:MINOR ROOT MOUNTPOINT ... */
		char *save = NULL, *field[5];
		size_t n = 0;
		for (char *t = strtok_r(line, " \n", &save); t && n < 5;
		     t = strtok_r(NULL, " \n", &save))
			field[n++] = t;
		unsigned major, minor;
		char tail;
		if (n < 3 ||
		    sscanf(field[2], "%u:%u%c", &major, &minor, &tail) != 2)
			continue;
		for (size_t i = 0; i < set.n; i++) {
			if (set.b[i].major != major || set.b[i].minor != minor)
				continue;
			/* A mount point past the first piece is still one. */
			append_mount(out, out_len,
				     n == 5 ? field[4] : "(a long path)",
				     set.b[i].name);
			found++;
			break;
		}
	}
	fclose(f);
	r = swaps ? swaps_on(&set, swaps, out, out_len) : 0;
	return r < 0 ? r : found + r;
}
