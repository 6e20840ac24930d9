// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Cross-checks the golden vectors against an independent decoder, the
 * usbip dissector of Wireshark. This program writes every vector as a TCP
 * segment on port 3240 into a pcap file and prints, per packet, the field
 * values our decoder finds, in the layout `tshark -T fields` uses for the
 * same fields. crosscheck-tshark.sh runs both and compares them.
 *   crosscheck-tshark PCAP > OURS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vectors.h"
#include "wire.h"

static FILE *pcap;
static unsigned packet;
static uint32_t seq[2][8]; /* [to server][conversation] */

static void put32le(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* pcap headers are host order; x86 is LE */
}

static void write_segment(unsigned conv, int to_server, const struct vec *v)
{
	uint8_t hdr[16], frame[14 + 20 + 20];
	uint16_t client_port = (uint16_t)(40000 + conv);

	memset(frame, 0, sizeof(frame));
	/* Ethernet: two locally administered addresses, IPv4. */
	memcpy(frame,
	       to_server ? "\x02\0\0\0\0\x02\x02\0\0\0\0\x01"
			 : "\x02\0\0\0\0\x01\x02\0\0\0\0\x02",
	       12);
	frame[12] = 0x08;
	/* IPv4 127.0.0.1 <-> 127.0.0.2, TCP. The checksum stays 0: the
	 * dissector does not verify it by default. */
	uint8_t *ip = frame + 14;
	size_t total = 20 + 20 + v->len;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(total >> 8);
	ip[3] = (uint8_t)total;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12,
	       to_server ? "\x7f\0\0\x01\x7f\0\0\x02"
			 : "\x7f\0\0\x02\x7f\0\0\x01",
	       8);
	uint8_t *tcp = ip + 20;
	uint16_t sport = to_server ? client_port : 3240;
	uint16_t dport = to_server ? 3240 : client_port;
	uint32_t s = seq[to_server][conv] + 1000;
	uint32_t a = seq[!to_server][conv] + 1000;
	tcp[0] = (uint8_t)(sport >> 8);
	tcp[1] = (uint8_t)sport;
	tcp[2] = (uint8_t)(dport >> 8);
	tcp[3] = (uint8_t)dport;
	tcp[4] = (uint8_t)(s >> 24);
	tcp[5] = (uint8_t)(s >> 16);
	tcp[6] = (uint8_t)(s >> 8);
	tcp[7] = (uint8_t)s;
	tcp[8] = (uint8_t)(a >> 24);
	tcp[9] = (uint8_t)(a >> 16);
	tcp[10] = (uint8_t)(a >> 8);
	tcp[11] = (uint8_t)a;
	tcp[12] = 0x50;
	tcp[13] = 0x18; /* PSH ACK */
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	seq[to_server][conv] += (uint32_t)v->len;

	put32le(hdr, packet);
	put32le(hdr + 4, 0);
	put32le(hdr + 8, (uint32_t)(sizeof(frame) + v->len));
	put32le(hdr + 12, (uint32_t)(sizeof(frame) + v->len));
	fwrite(hdr, 1, 16, pcap);
	fwrite(frame, 1, sizeof(frame), pcap);
	fwrite(v->b, 1, v->len, pcap);
	packet++;
}

/*
 * One line per packet, the columns of FIELDS in crosscheck-tshark.sh:
 * version operation status busid bus_num dev_num speed idVendor idProduct
 * number_of_devices | urb sequence_no devid endpoint direction
 * transfer_buffer_length actual_length num_of_packets. tshark runs with
 * occurrence=l, so multi-valued fields show this packet's own value, and
 * for CMD_UNLINK the sequence number shown is the victim's.
 */
static void print_op(const struct usbip_op_message *m)
{
	const struct usbip_device_info *d = NULL;

	if (m->header.code == USBIP_OP_REP_DEVLIST && m->num_devices)
		d = &m->devices[0].device;
	else if (m->device.busid[0])
		d = &m->device;
	printf("0x%04x\t0x%04x\t%d\t%s", m->header.version, m->header.code,
	       (int32_t)m->header.status, d ? d->busid : m->busid);
	if (d)
		printf("\t0x%08x\t0x%08x\t%u\t0x%04x\t0x%04x", d->busnum,
		       d->devnum, d->speed, d->id_vendor, d->id_product);
	else
		printf("\t\t\t\t\t");
	if (m->header.code == USBIP_OP_REP_DEVLIST)
		printf("\t%u", m->num_devices);
	else
		printf("\t");
	printf("\t\t\t\t\t\t\t\t\n");
}

static void print_urb(const struct usbip_urb_header *h)
{
	char status[16] = "";

	if (h->command == USBIP_RET_SUBMIT)
		snprintf(status, sizeof(status), "%d", h->u.ret_submit.status);
	if (h->command == USBIP_RET_UNLINK)
		snprintf(status, sizeof(status), "%d", h->u.ret_unlink.status);
	printf("\t\t%s\t\t\t\t\t\t\t\t0x%08x\t%u\t0x%08x\t0x%02x\t0x%02x\t",
	       status, h->command,
	       h->command == USBIP_CMD_UNLINK ? h->u.unlink.seqnum : h->seqnum,
	       h->devid, h->ep, h->direction);
	switch (h->command) {
	case USBIP_CMD_SUBMIT:
		printf("%u\t\t%u\n", h->u.submit.transfer_buffer_length,
		       h->u.submit.number_of_packets);
		break;
	case USBIP_RET_SUBMIT:
		printf("\t%u\t%u\n", h->u.ret_submit.actual_length,
		       h->u.ret_submit.number_of_packets);
		break;
	default:
		printf("\t\t\n");
		break;
	}
}

int main(int argc, char **argv)
{
	static const struct {
		unsigned conv;
		int to_server;
		enum vec_id id;
	} script[] = {
		{1, 1, V_REQ_DEVLIST},	       {1, 0, V_REP_DEVLIST},
		{2, 1, V_REQ_IMPORT},	       {2, 0, V_REP_IMPORT},
		{2, 1, V_CMD_SUBMIT_CTRL_IN},  {2, 0, V_RET_SUBMIT_CTRL_IN},
		{2, 1, V_CMD_SUBMIT_BULK_OUT}, {2, 1, V_CMD_SUBMIT_ISO_OUT},
		{2, 0, V_RET_SUBMIT_ISO_OUT},  {2, 1, V_CMD_UNLINK},
		{2, 0, V_RET_UNLINK},	       {3, 1, V_REQ_IMPORT},
		{3, 0, V_REP_IMPORT_FAIL},
	};
	uint8_t gh[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0};

	if (argc != 2) {
		fprintf(stderr, "usage: %s PCAP\n", argv[0]);
		return 2;
	}
	pcap = fopen(argv[1], "wbe");
	if (!pcap) {
		perror(argv[1]);
		return 1;
	}
	put32le(gh + 16, 65535);
	put32le(gh + 20, 1); /* Ethernet */
	fwrite(gh, 1, sizeof(gh), pcap);

	for (size_t i = 0; i < sizeof(script) / sizeof(script[0]); i++) {
		struct vec v;
		vec_build(script[i].id, &v);
		write_segment(script[i].conv, script[i].to_server, &v);
		if (script[i].id <= V_REP_UNEXPORT) {
			struct usbip_op_message m;
			if (usbip_op_decode(v.b, v.len, &m, NULL) < 0) {
				fprintf(stderr, "%s does not decode\n",
					vec_names[script[i].id]);
				return 1;
			}
			print_op(&m);
			usbip_op_message_clear(&m);
		} else {
			struct usbip_urb_header h;
			if (usbip_urb_header_unpack(v.b, &h, NULL) < 0)
				return 1;
			print_urb(&h);
		}
	}
	return fclose(pcap) == 0 ? 0 : 1;
}
