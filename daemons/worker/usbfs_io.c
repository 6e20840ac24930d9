// SPDX-License-Identifier: GPL-2.0-or-later
#include "usbfs_io.h"

#include <errno.h>
#include <linux/usbdevice_fs.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"

/* usbfs takes at most this many iso packets per URB (devio.c); longer
 * iso transfers go as several URBs, as libusb sends them. */
#define ISO_PACKETS_PER_URB 128

struct piece;

/* One transfer in flight: one URB, or several for a long iso one. */
struct flight {
	struct flight *prev, *next;
	struct libusb_transfer *x;
	unsigned num_pieces, pieces_left;
	enum libusb_transfer_status failed; /* COMPLETED unless one did */
	struct piece **pieces;
};

struct piece {
	struct flight *f;
	unsigned first_packet;
	bool reaped;
	struct usbdevfs_urb urb; /* last: iso descriptors follow */
};

struct usbfs_io {
	int fd;
	struct flight *head; /* in flight, for cancel and device loss */
};

int usbfs_io_new(int fd, struct usbfs_io **io)
{
	*io = calloc(1, sizeof(**io));
	if (!*io)
		return -ENOMEM;
	(*io)->fd = fd;
	return 0;
}

static void forget(struct usbfs_io *io, struct flight *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		io->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	for (unsigned i = 0; i < f->num_pieces; i++)
		free(f->pieces[i]);
	free(f->pieces);
	free(f);
}

void usbfs_io_free(struct usbfs_io *io)
{
	if (!io)
		return;
	while (io->head) {
		struct flight *f = io->head;
		for (unsigned i = 0; i < f->num_pieces; i++)
			if (!f->pieces[i]->reaped)
				ioctl(io->fd, USBDEVFS_DISCARDURB,
				      &f->pieces[i]->urb);
		forget(io, f);
	}
	free(io);
}

/* A URB's (or an iso packet's) status as libusb would report it. */
static enum libusb_transfer_status transfer_status_of(int status)
{
	switch (status) {
	case 0:
	case -EREMOTEIO: /* short, with no SHORT_NOT_OK asked: fine */
		return LIBUSB_TRANSFER_COMPLETED;
	case -ENOENT:
	case -ECONNRESET:
		return LIBUSB_TRANSFER_CANCELLED;
	case -EPIPE:
		return LIBUSB_TRANSFER_STALL;
	case -EOVERFLOW:
		return LIBUSB_TRANSFER_OVERFLOW;
	case -ENODEV:
	case -ESHUTDOWN:
		return LIBUSB_TRANSFER_NO_DEVICE;
	case -ETIMEDOUT:
		return LIBUSB_TRANSFER_TIMED_OUT;
	}
	return LIBUSB_TRANSFER_ERROR;
}

static struct piece *new_piece(struct flight *f, unsigned char type,
			       unsigned char endpoint, unsigned num_packets)
{
	size_t descs = num_packets * sizeof(struct usbdevfs_iso_packet_desc);
	struct piece *p = calloc(1, sizeof(*p) + descs);

	if (!p)
		return NULL;
	p->f = f;
	p->urb.type = type;
	p->urb.endpoint = endpoint;
	p->urb.usercontext = p;
	return p;
}

/* The URBs a transfer goes out as; none submitted yet. */
static int cut(struct flight *f)
{
	struct libusb_transfer *x = f->x;
	unsigned char type;

	switch (x->type) {
	case LIBUSB_TRANSFER_TYPE_CONTROL:
		type = USBDEVFS_URB_TYPE_CONTROL;
		break;
	case LIBUSB_TRANSFER_TYPE_BULK:
		type = USBDEVFS_URB_TYPE_BULK;
		break;
	case LIBUSB_TRANSFER_TYPE_INTERRUPT:
		type = USBDEVFS_URB_TYPE_INTERRUPT;
		break;
	case LIBUSB_TRANSFER_TYPE_ISOCHRONOUS:
		type = USBDEVFS_URB_TYPE_ISO;
		break;
	default:
		return -EINVAL;
	}
	if (type != USBDEVFS_URB_TYPE_ISO) {
		f->pieces = calloc(1, sizeof(*f->pieces));
		if (!f->pieces)
			return -ENOMEM;
		f->pieces[0] = new_piece(f, type, x->endpoint, 0);
		if (!f->pieces[0])
			return -ENOMEM;
		f->num_pieces = 1;
		struct usbdevfs_urb *u = &f->pieces[0]->urb;
		u->buffer = x->buffer;
		u->buffer_length = x->length;
		if (x->flags & LIBUSB_TRANSFER_ADD_ZERO_PACKET)
			u->flags |= USBDEVFS_URB_ZERO_PACKET;
		return 0;
	}
	if (x->num_iso_packets <= 0)
		return -EINVAL;
	unsigned packets = (unsigned)x->num_iso_packets;
	unsigned n = (packets + ISO_PACKETS_PER_URB - 1) / ISO_PACKETS_PER_URB;
	f->pieces = calloc(n, sizeof(*f->pieces));
	if (!f->pieces)
		return -ENOMEM;
	/* Packets lie back to back in the buffer, as libusb has them. */
	unsigned char *at = x->buffer;
	for (unsigned i = 0; i < n; i++) {
		unsigned first = i * ISO_PACKETS_PER_URB;
		unsigned count = packets - first < ISO_PACKETS_PER_URB
					 ? packets - first
					 : ISO_PACKETS_PER_URB;
		struct piece *p = new_piece(f, type, x->endpoint, count);
		if (!p)
			return -ENOMEM;
		f->pieces[f->num_pieces++] = p;
		p->first_packet = first;
		p->urb.flags = USBDEVFS_URB_ISO_ASAP;
		p->urb.number_of_packets = (int)count;
		p->urb.buffer = at;
		size_t bytes = 0;
		for (unsigned k = 0; k < count; k++) {
			unsigned len = x->iso_packet_desc[first + k].length;
			p->urb.iso_frame_desc[k].length = len;
			bytes += len;
		}
		p->urb.buffer_length = (int)bytes;
		at += bytes;
	}
	return 0;
}

int usbfs_io_submit(struct usbfs_io *io, struct libusb_transfer *x)
{
	struct flight *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;
	f->x = x;
	f->failed = LIBUSB_TRANSFER_COMPLETED;
	/* Linked first: forget() unlinks whatever happens below. */
	f->next = io->head;
	if (io->head)
		io->head->prev = f;
	io->head = f;
	r = cut(f);
	if (r < 0) {
		forget(io, f);
		return r;
	}
	x->actual_length = 0;
	for (unsigned i = 0; i < f->num_pieces; i++) {
		struct usbdevfs_urb *u = &f->pieces[i]->urb;
		if (ioctl(io->fd, USBDEVFS_SUBMITURB, u) == 0) {
			f->pieces_left++;
			continue;
		}
		/* ESHUTDOWN: the device went away between submissions, as
		 * ENODEV says: the session treats both as gone. */
		r = errno == ESHUTDOWN ? -ENODEV : -errno;
		if (i == 0) {
			forget(io, f);
			return r;
		}
		/* Part of it is out: take that back; the transfer then
		 * completes with an error once those come home. */
		f->failed = LIBUSB_TRANSFER_ERROR;
		for (unsigned k = i; k < f->num_pieces; k++)
			f->pieces[k]->reaped = true;
		for (unsigned k = 0; k < i; k++)
			ioctl(io->fd, USBDEVFS_DISCARDURB, &f->pieces[k]->urb);
		break;
	}
	return 0;
}

int usbfs_io_cancel(struct usbfs_io *io, struct libusb_transfer *x)
{
	struct flight *f = io->head;

	while (f && f->x != x)
		f = f->next;
	if (!f)
		return -ENOENT;
	for (unsigned i = 0; i < f->num_pieces; i++) {
		struct usbdevfs_urb *u = &f->pieces[i]->urb;
		if (f->pieces[i]->reaped)
			continue;
		/* EINVAL: it completed already and waits to be reaped. */
		if (ioctl(io->fd, USBDEVFS_DISCARDURB, u) < 0 &&
		    errno == ENODEV)
			return -ENODEV;
	}
	return 0;
}

static void finish(struct usbfs_io *io, struct flight *f,
		   enum libusb_transfer_status status)
{
	struct libusb_transfer *x = f->x;

	/* A cancelled transfer whose URBs completed before the discard
	 * reached them (DISCARDURB said EINVAL) completed: the session
	 * reports that completion, data and all, as the kernel stub does
	 * when an unlink loses the race. */
	if (f->failed != LIBUSB_TRANSFER_COMPLETED)
		status = f->failed;
	x->status = status;
	forget(io, f);
	x->callback(x);
}

static void landed(struct usbfs_io *io, struct piece *p)
{
	struct flight *f = p->f;
	struct libusb_transfer *x = f->x;
	struct usbdevfs_urb *u = &p->urb;
	enum libusb_transfer_status status = transfer_status_of(u->status);

	p->reaped = true;
	if (u->type == USBDEVFS_URB_TYPE_ISO) {
		struct libusb_iso_packet_descriptor *descs =
			&x->iso_packet_desc[p->first_packet];
		for (int k = 0; k < u->number_of_packets; k++) {
			struct libusb_iso_packet_descriptor *d = &descs[k];
			d->actual_length = u->iso_frame_desc[k].actual_length;
			/* A negative errno in an unsigned field. */
			d->status = transfer_status_of(
				(int)u->iso_frame_desc[k].status);
		}
		/* Packet errors are the packets' business; the URB's own
		 * status says whether it ran at all. */
	}
	x->actual_length += u->actual_length;
	if (status != LIBUSB_TRANSFER_COMPLETED &&
	    f->failed == LIBUSB_TRANSFER_COMPLETED)
		f->failed = status;
	if (--f->pieces_left == 0)
		finish(io, f, LIBUSB_TRANSFER_COMPLETED);
}

void usbfs_io_reap(struct usbfs_io *io)
{
	for (;;) {
		struct usbdevfs_urb *u = NULL;

		if (ioctl(io->fd, USBDEVFS_REAPURBNDELAY, &u) == 0) {
			landed(io, u->usercontext);
			/* Nothing more out: no ioctl just to learn EAGAIN
			 * (one syscall in seven per URB at depth 1). */
			if (!io->head)
				return;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != ENODEV)
			return; /* EAGAIN: nothing more now */
		/* Gone, and usbfs has given back all it will: whatever is
		 * still out ends here. */
		while (io->head) {
			struct flight *f = io->head;
			f->failed = LIBUSB_TRANSFER_NO_DEVICE;
			finish(io, f, LIBUSB_TRANSFER_NO_DEVICE);
		}
		return;
	}
}
