// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Writes the fuzzers' seed corpus from the unit tests' golden vectors and
 * descriptor sets, so that the seeds are always well-formed examples of the
 * current format and no binary files live in the tree.
 *   write-seeds DIR   creates DIR/wire, DIR/usb-model, DIR/validate
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "descriptors.h"

static const char *dir;

static void put(const char *target, const char *name, const uint8_t *a,
		size_t alen, const uint8_t *b, size_t blen)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wbe");
	if (!f || fwrite(a, 1, alen, f) != alen ||
	    (blen && fwrite(b, 1, blen, f) != blen) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static const enum vec_id server[] = {
		V_CMD_SUBMIT_CTRL_IN, V_CMD_SUBMIT_BULK_OUT,
		V_CMD_SUBMIT_ISO_OUT, V_CMD_UNLINK};
	static const enum vec_id client[] = {
		V_RET_SUBMIT_CTRL_IN, V_RET_SUBMIT_ISO_OUT, V_RET_UNLINK};
	void (*const devices[])(struct vec *) = {desc_mass_storage, desc_audio,
						 desc_superspeed,
						 desc_high_bandwidth};
	struct vec v, stream = {0};
	char name[32];

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		perror(dir);
		return 1;
	}

	/* wire: [mode][chunk seed][stream] */
	for (int id = V_REQ_DEVLIST; id <= V_REP_UNEXPORT; id++) {
		uint8_t pre[2] = {0, (uint8_t)id};
		vec_build(id, &v);
		snprintf(name, sizeof(name), "op-%02d", id);
		put("wire", name, pre, 2, v.b, v.len);
	}
	for (size_t i = 0; i < sizeof(server) / sizeof(server[0]); i++) {
		vec_build(server[i], &v);
		memcpy(stream.b + stream.len, v.b, v.len);
		stream.len += v.len;
	}
	put("wire", "urb-server", (const uint8_t[]){1, 3}, 2, stream.b,
	    stream.len);
	{
		struct vec cs = {0};
		for (size_t i = 0; i < sizeof(client) / sizeof(client[0]);
		     i++) {
			vec_build(client[i], &v);
			memcpy(cs.b + cs.len, v.b, v.len);
			cs.len += v.len;
		}
		put("wire", "urb-client", (const uint8_t[]){2, 9}, 2, cs.b,
		    cs.len);
	}

	/* usb-model: raw descriptor sets; validate: each with the stream. */
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		static struct vec seed;
		devices[i](&v);
		snprintf(name, sizeof(name), "device-%zu", i);
		put("usb-model", name, v.b, v.len, NULL, 0);

		memset(&seed, 0, sizeof(seed));
		seed.b[0] = (uint8_t)v.len;
		seed.b[1] = (uint8_t)(v.len >> 8);
		seed.len = 2;
		memcpy(seed.b + seed.len, v.b, v.len);
		seed.len += v.len;
		vec_hex(&seed, "01 00 01 00 00"); /* config 1, iface 1 alt 1 */
		put("validate", name, seed.b, seed.len, stream.b, stream.len);
	}
	/* transport: addresses of every kind */
	static const char *const addresses[] = {
		"tcp:3240",
		"tcp:127.0.0.1:3240",
		"tcp:[::1]:3240",
		"vsock:3:5000",
		"vsock:5000",
		"unix:/run/u.sock",
		"unix:@u",
		"fd:3",
		"fc-vsock:/run/fc.sock:52",
	};
	for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
		snprintf(name, sizeof(name), "addr-%zu", i);
		put("transport", name, (const uint8_t *)addresses[i],
		    strlen(addresses[i]), NULL, 0);
	}

	/* vhci-status: what vhci_hcd prints */
	static const char status[] =
		"hub port sta spd dev      sockfd local_busid\n"
		"hs  0000 006 003 00010002 000003 3-1\n"
		"hs  0001 004 000 00000000 000000 0-0\n"
		"ss  0002 004 000 00000000 000000 0-0\n";
	put("vhci-status", "status", (const uint8_t *)status,
	    sizeof(status) - 1, NULL, 0);

	/* ipc: [side][message]: an open request, a devlist request */
	static const uint8_t open_request[1 + 8 + 32] = {
		0, 2, 0, 0, 0, 32, 0, 0, 0, '1', '-', '1'};
	static const uint8_t devlist_request[1 + 8] = {0, 1};
	put("ipc", "open-request", open_request, sizeof(open_request), NULL, 0);
	put("ipc", "devlist-request", devlist_request, sizeof(devlist_request),
	    NULL, 0);

	/* control: what usbip-brokerctl sends */
	static const char export_to[] = "export 1-2.3 vsock:3:5000";
	static const char list[] = "list\n";
	put("control", "export-to", (const uint8_t *)export_to,
	    sizeof(export_to) - 1, NULL, 0);
	put("control", "list", (const uint8_t *)list, sizeof(list) - 1, NULL,
	    0);

	/* policy: every kind of word once */
	static const char policy[] =
		"# comment\n"
		"allow id 1d6b:* serial \"0001\" class 08 busid \"1-1.*\" "
		"from 10.0.0.0/8 from 2001:db8::/32 from vsock:3 from vsock:* "
		"from unix to vsock:3:3240 to tcp:[::1]:4000 auto\n"
		"allow with-interface match-all { 08:*:* 03:01 } "
		"with-interface 08:06:50 with-interface none-of { e0 }\n"
		"deny with-interface all-of { 08 03:*:* } "
		"with-interface one-of { 02 } with-interface equals { ff }\n"
		"deny class 09\n"
		"deny\n";
	put("policy", "rules", (const uint8_t *)policy, sizeof(policy) - 1,
	    NULL, 0);
	return 0;
}
