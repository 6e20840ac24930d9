// SPDX-License-Identifier: GPL-2.0-or-later
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macros.h"
#include "bot_readahead.h"
#include "bufpool.h"
#include "outq.h"
#include "wire.h"

#define SEQNUM_BUCKETS 1024
/* A read this large or larger skips the input buffer. */
#define DIRECT_READ_MIN 16384
/* Read-ahead into the input buffer while large OUT payloads come (see
 * next_bytes()), and for how many frames after the last one. */
#define READ_AHEAD_AFTER_LARGE 1024
#define LARGE_OUT_FRAMES 64
/* Heap buffers up to this size come from glibc's heap, not mmap, and up
 * to the second of free memory stays there: a freed payload is not given
 * back to the kernel only to be faulted in again for the next URB. */
#define HEAP_MMAP_THRESHOLD (8 << 20)
#define HEAP_TRIM_THRESHOLD (32 << 20)
/* Replies waiting for the socket: past this, stop reading requests. */
#define OUTPUT_HIGH_WATER (8u << 20)
/* Frames handled per wakeup, so completions are not starved. */
#define FRAMES_PER_WAKEUP 64
/* At most one progress report to the broker a second. */
#define REPORT_INTERVAL_MS 1000
/* How long a leaving session waits for cancelled URBs to come back:
 * below the broker's grace after SIGTERM (3 s, TERM_GRACE_S), so that a
 * stopped worker ends by itself rather than by SIGKILL. usbfs gives a
 * discarded URB back at once; one that takes longer is stuck anyway. */
#define DRAIN_TIMEOUT_MS 2000

volatile sig_atomic_t session_stop;
sigset_t session_wait_mask;

static void on_stop(int sig)
{
	(void)sig;
	session_stop = 1;
}

int session_stop_setup(void)
{
	/* No SA_RESTART: the wait it interrupts returns EINTR. */
	struct sigaction term = {.sa_handler = on_stop};
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	if (sigaction(SIGTERM, &term, NULL) < 0 ||
	    sigprocmask(SIG_BLOCK, &block, &session_wait_mask) < 0)
		return -errno;
	sigdelset(&session_wait_mask, SIGTERM);
	return 0;
}

/*
 * Every CMD_SUBMIT is a struct urb from the moment it is accepted until
 * its reply is queued, including those the worker answers itself (the
 * special requests, refused submissions): the importing kernel's drivers
 * rely on URBs of one endpoint completing in the order they were
 * submitted, and a reply made here must not overtake one still pending
 * on the device.
 */
struct urb {
	struct urb *next;	       /* seqnum hash chain */
	struct urb *ep_prev, *ep_next; /* the endpoint's order */
	struct session *s;
	uint32_t seqnum;
	uint8_t order; /* which endpoint order it keeps (endpoint_order) */
	struct urb_plan plan;
	struct libusb_transfer *xfer; /* NULL when answered here */
	uint8_t *buf;
	bool unlinking;
	uint32_t unlink_seqnum;
	/* Answered, the reply held back behind an earlier URB. */
	bool held;
	struct outq_item reply;
	uint32_t num_iso;
	struct usbip_iso_desc *iso; /* the request's descriptors */
};

/* ep0's IN and OUT share one control pipe: one order for both. Other
 * endpoints keep one per number and direction. */
#define ENDPOINT_ORDERS 32

struct endpoint_order {
	struct urb *first, *last;
};

struct session {
	struct worker_device *dev;
	int client;
	const char *peer;
	struct urb_limits limits;
	struct urb_session view;
	struct urb *table[SEQNUM_BUCKETS];
	struct endpoint_order orders[ENDPOINT_ORDERS];
	struct usbip_urb_reader reader;
	struct bufpool pool;
	/* The current frame's OUT data, read straight into a transfer
	 * buffer (place_payload); submit() takes it. */
	uint8_t *placed;
	struct outq out;
	/* Small requests are read many at a time; large OUT payloads go
	 * straight into the reader's buffer. */
	uint8_t in[65536];
	size_t in_len, in_off;
	/* Frames to go with a short read-ahead (READ_AHEAD_AFTER_LARGE):
	 * set by a payload read directly. */
	unsigned large_out_frames;
	/* Bulk and interrupt OUT data, and how much of it was copied on
	 * the way from the socket to the device (past the socket's own
	 * copy): through in[], from the reader's buffer, or by usbfs from a
	 * heap buffer. For the log. */
	uint64_t out_bytes, out_copied;
	bool drained; /* the last read came up short: wait for poll */
	bool client_gone;
	/* Half-closed: no more requests; what is in flight may finish
	 * until linger_until (ms, CLOCK_MONOTONIC). */
	bool input_closed;
	uint64_t linger_until;
	int end;	       /* why the session ends, 0 while it runs */
	struct pollfd pfd[16]; /* [0] the client, the device's, the timer */
	size_t num_device_fds;
	/* Wakes the loop for a progress report that is due: a timer armed
	 * once a second at most, rather than a timeout on every wait (each
	 * one arms and cancels a kernel timer and reads the clock).
	 * -1 without one: the wait's timeout does it. */
	int report_timer;
	bool report_armed, report_due;
	struct session_stats *stats;
	/* Bytes across the socket since the guard's last answer, and what
	 * it allowed; guard_ended: it ended the session. */
	const struct session_guard *guard;
	uint64_t guard_moved, guard_allowed;
	bool guard_ended;
	struct bot_readahead *ra; /* NULL: off, or a simulated device */
	/* Busy-poll (session_busy_poll_us): a reply left in the last
	 * dispatch, so the client's next request is likely soon; spins in
	 * a row that did not catch what they awaited (spin_caught). */
	bool replied;
	unsigned busy_poll_misses[2]; /* by what is awaited: spin_kind */
};

static struct urb **bucket(struct session *s, uint32_t seqnum)
{
	return &s->table[seqnum % SEQNUM_BUCKETS];
}

static struct urb *find_urb(struct session *s, uint32_t seqnum)
{
	for (struct urb *u = *bucket(s, seqnum); u; u = u->next)
		if (u->seqnum == seqnum)
			return u;
	return NULL;
}

static bool seqnum_in_flight(const void *opaque, uint32_t seqnum)
{
	return find_urb((struct session *)opaque, seqnum) != NULL;
}

static void track(struct session *s, struct urb *u)
{
	struct urb **b = bucket(s, u->seqnum);

	u->next = *b;
	*b = u;
	s->view.urbs_in_flight++;
	s->view.bytes_in_flight += urb_plan_charge(&u->plan);
}

static void untrack(struct session *s, struct urb *u)
{
	for (struct urb **p = bucket(s, u->seqnum); *p; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			break;
		}
	s->view.urbs_in_flight--;
	s->view.bytes_in_flight -= urb_plan_charge(&u->plan);
}

static void free_urb(struct urb *u)
{
	if (u->xfer)
		libusb_free_transfer(u->xfer);
	bufpool_free(&u->s->pool, u->buf);
	bufpool_free(&u->s->pool, u->reply.owned);
	free(u->reply.iso);
	free(u->iso);
	free(u);
}

/* Which order a request keeps: from the header, not the plan, whose
 * endpoint for CLEAR_HALT is the one to clear, not ep0 it came on. */
static uint8_t order_of(const struct usbip_urb_header *h)
{
	if (h->ep == 0)
		return 0;
	return (uint8_t)((h->ep & 0x0f) |
			 (h->direction == USBIP_DIR_IN ? 0x10 : 0));
}

/* Accepted: tracked and last in its endpoint's order. */
static struct urb *new_urb(struct session *s, const struct usbip_urb_frame *f,
			   const struct urb_plan *plan)
{
	struct urb *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->s = s;
	u->seqnum = f->header.seqnum;
	u->plan = *plan;
	u->order = order_of(&f->header);
	struct endpoint_order *o = &s->orders[u->order];
	u->ep_prev = o->last;
	if (o->last)
		o->last->ep_next = u;
	else
		o->first = u;
	o->last = u;
	track(s, u);
	return u;
}

/* Done with u: out of its order and the table, freed. */
static void retire(struct session *s, struct urb *u)
{
	struct endpoint_order *o = &s->orders[u->order];

	if (u->ep_prev)
		u->ep_prev->ep_next = u->ep_next;
	else
		o->first = u->ep_next;
	if (u->ep_next)
		u->ep_next->ep_prev = u->ep_prev;
	else
		o->last = u->ep_prev;
	untrack(s, u);
	free_urb(u);
}

/* The coarse clock (the last tick's time) is enough for the session's
 * deadlines and reports, and the vDSO reads it without a syscall
 * whatever the clocksource: CLOCK_MONOTONIC is a syscall and a device
 * read where the clocksource has no vDSO path (hpet under QEMU TCG),
 * and the loop asks twice a URB. */
static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* USBIP_WORKER_TRACE=1 in the environment: one line per reply. */
static bool tracing(void)
{
	static int on = -1;
	if (on < 0) {
		const char *v = getenv("USBIP_WORKER_TRACE");
		on = v && *v && strcmp(v, "0") != 0;
	}
	return on;
}

static int queue_ret_unlink(struct session *s, uint32_t seqnum, int32_t status)
{
	struct usbip_urb_header h = {.command = USBIP_RET_UNLINK,
				     .seqnum = seqnum};
	uint8_t head[USBIP_URB_HEADER_LEN];

	h.u.ret_unlink.status = status;
	usbip_urb_header_pack(&h, head);
	return outq_push(&s->out, head, NULL, 0, NULL, NULL, 0);
}

/*
 * Queues the replies at the front of an order that are answered: stops
 * at the first URB still pending, so no reply overtakes an earlier URB of
 * its endpoint. A URB unlinked after it completed (the unlink lost the
 * race, or found it answered and held) has its RET_UNLINK, status 0,
 * right behind its RET_SUBMIT, as the kernel stub sends them.
 */
static int release_answered(struct session *s, uint8_t order)
{
	struct endpoint_order *o = &s->orders[order];
	int r = 0;

	while (o->first && o->first->held) {
		struct urb *u = o->first;
		struct outq_item *it = &u->reply;
		/* outq_push owns these from here, even when it fails. */
		int e = outq_push(&s->out, it->head, it->data, it->data_len,
				  take_ptr(it->owned), take_ptr(it->iso),
				  it->iso_len);
		if (e == 0 && u->unlinking)
			e = queue_ret_unlink(s, u->unlink_seqnum, 0);
		if (e < 0 && !r)
			r = e;
		retire(s, u);
	}
	return r;
}

/* u's RET_SUBMIT with `data` (IN only; `owned` is the buffer it lies in,
 * freed once sent) and iso descriptors, queued once every earlier URB of
 * its endpoint has its reply queued. devid, direction and ep stay 0, as
 * the kernel stub sends them. */
static int queue_ret_submit(struct session *s, struct urb *u, int32_t status,
			    uint32_t actual, const uint8_t *data,
			    size_t data_len, void *owned,
			    const struct usbip_iso_desc *iso, uint32_t num_iso,
			    int32_t error_count)
{
	struct usbip_urb_header h = {.command = USBIP_RET_SUBMIT,
				     .seqnum = u->seqnum};
	struct outq_item *it = &u->reply;
	uint8_t *packed = NULL;

	if (tracing())
		log_line("RET_SUBMIT seqnum %u status %d "
			 "actual %u data %zu iso %u",
			 u->seqnum, status, actual, data_len, num_iso);
	h.u.ret_submit.status = status;
	h.u.ret_submit.actual_length = actual;
	h.u.ret_submit.number_of_packets = num_iso;
	h.u.ret_submit.error_count = error_count;
	usbip_urb_header_pack(&h, it->head);
	it->owned = owned;
	if (num_iso) {
		packed = malloc((size_t)num_iso * USBIP_ISO_DESC_LEN);
		if (!packed) {
			retire(s, u); /* owned goes with it */
			return -ENOMEM;
		}
		for (uint32_t i = 0; i < num_iso; i++)
			usbip_iso_desc_pack(
				&iso[i],
				packed + (size_t)i * USBIP_ISO_DESC_LEN);
	}
	it->data = data;
	it->data_len = data_len;
	it->iso = packed;
	it->iso_len = (size_t)num_iso * USBIP_ISO_DESC_LEN;
	u->held = true;
	s->stats->urbs++;
	return release_answered(s, u->order);
}

/* Iso IN data goes out packed (only what arrived, in packet order); the
 * descriptors keep the request's offsets, and vhci spaces it out again. */
static int complete_iso(struct session *s, struct urb *u,
			struct libusb_transfer *x)
{
	size_t packed = 0, pos = 0;
	int32_t errors = 0;
	uint32_t actual = 0;

	for (uint32_t i = 0; i < u->num_iso; i++) {
		struct libusb_iso_packet_descriptor *pd =
			&x->iso_packet_desc[i];
		u->iso[i].actual_length = pd->actual_length;
		u->iso[i].status = errno_from_transfer_status(pd->status);
		if (u->iso[i].status)
			errors++;
		actual += pd->actual_length;
		if (u->plan.dir_in) {
			/* libusb packs packets back to back by length;
			 * compact in place to the actual bytes. */
			memmove(u->buf + packed, u->buf + pos,
				pd->actual_length);
			packed += pd->actual_length;
		}
		pos += pd->length;
	}
	s->stats->bytes_in += u->plan.dir_in ? packed : 0;
	/* The reply takes the transfer buffer along: no copy. */
	uint8_t *buf = take_ptr(u->buf);
	return queue_ret_submit(s, u, errno_from_transfer_status(x->status),
				actual, u->plan.dir_in ? buf : NULL, packed,
				buf, u->iso, u->num_iso, errors);
}

static void LIBUSB_CALL on_transfer_done(struct libusb_transfer *x)
{
	struct urb *u = x->user_data;
	struct session *s = u->s;
	int r;

	bot_ra_completed(s->ra, x);
	if (x->status == LIBUSB_TRANSFER_NO_DEVICE && !s->end)
		s->end = -ENODEV;
	if (u->unlinking && x->status == LIBUSB_TRANSFER_CANCELLED) {
		/* Unlinked while pending: the RET_UNLINK alone answers it,
		 * and the URBs it held back may go. An unlink that came too
		 * late (the URB completed) gets the real reply below. */
		uint8_t order = u->order;
		r = queue_ret_unlink(s, u->unlink_seqnum, -ECONNRESET);
		retire(s, u);
		int e = release_answered(s, order);
		if (r == 0)
			r = e;
	} else if (u->plan.type == USB_TYPE_ISOCHRONOUS) {
		r = complete_iso(s, u, x);
	} else {
		int32_t status = errno_from_transfer_status(x->status);
		uint32_t actual = (uint32_t)x->actual_length;
		const uint8_t *data = u->buf;

		if (u->plan.type == USB_TYPE_CONTROL)
			data += LIBUSB_CONTROL_SETUP_SIZE;
		/* A short IN under URB_SHORT_NOT_OK is -EREMOTEIO, as a host
		 * controller reports it; class drivers (usb-storage) read
		 * that as "short", not as a failure. */
		if (status == 0 && u->plan.dir_in && actual < u->plan.length &&
		    (u->plan.transfer_flags & URB_FLAG_SHORT_NOT_OK))
			status = -EREMOTEIO;
		if (status)
			s->stats->errors++;
		if (u->plan.dir_in)
			s->stats->bytes_in += actual;
		/* The reply takes the transfer buffer along: no copy. */
		uint8_t *buf = take_ptr(u->buf);
		r = queue_ret_submit(
			s, u, status, actual, u->plan.dir_in ? data : NULL,
			u->plan.dir_in ? actual : 0, buf, NULL, 0, 0);
	}
	if (r < 0 && !s->end)
		s->end = r;
}

/* u is answered by a transfer the BOT read-ahead made for it. */
static int take_read_ahead(struct urb *u, struct libusb_transfer *x, int answer)
{
	u->xfer = x;
	u->buf = x->buffer;
	x->callback = on_transfer_done;
	x->user_data = u;
	if (tracing())
		log_line("CMD_SUBMIT seqnum %u ep 0x%02x length %u: read ahead",
			 u->seqnum, u->plan.endpoint, u->plan.length);
	if (answer == BOT_RA_COMPLETED)
		on_transfer_done(x);
	return 0;
}

static int submit(struct session *s, const struct usbip_urb_frame *f,
		  const struct urb_plan *plan)
{
	libusb_device_handle *h = s->dev->handle;
	struct urb *u = new_urb(s, f, plan);
	int r;

	if (!u)
		return -ENOMEM;
	s->stats->bytes_out += f->data_len;

	switch (plan->type) {
	case USB_TYPE_CONTROL:
		u->buf = bufpool_alloc(&s->pool, LIBUSB_CONTROL_SETUP_SIZE +
							 plan->length);
		u->xfer = libusb_alloc_transfer(0);
		if (!u->buf || !u->xfer)
			goto nomem;
		memcpy(u->buf, f->header.u.submit.setup, 8);
		r = bot_ra_control(s->ra, s->peer, u->buf);
		if (r < 0) {
			retire(s, u);
			return r;
		}
		if (!plan->dir_in && plan->length)
			memcpy(u->buf + 8, f->data, plan->length);
		libusb_fill_control_transfer(u->xfer, h, u->buf,
					     on_transfer_done, u, 0);
		break;
	case USB_TYPE_BULK:
	case USB_TYPE_INTERRUPT:
		if (s->ra && plan->type == USB_TYPE_BULK) {
			struct libusb_transfer *ahead;
			r = bot_ra_request(
				s->ra, s->peer, plan->endpoint, plan->length,
				s->orders[u->order].first == u, &ahead);
			if (r < 0) {
				retire(s, u);
				return r;
			}
			if (ahead)
				return take_read_ahead(u, ahead, r);
		}
		/* OUT data is used where the reader put it: no copy. */
		if (!plan->dir_in && plan->length && s->placed &&
		    f->data == s->placed && f->data_len >= plan->length)
			u->buf = take_ptr(s->placed);
		else
			u->buf = bufpool_alloc(&s->pool, plan->length);
		u->xfer = libusb_alloc_transfer(0);
		if (!u->buf || !u->xfer)
			goto nomem;
		if (!plan->dir_in && plan->length && u->buf != f->data) {
			memcpy(u->buf, f->data, plan->length);
			s->out_copied += plan->length;
		}
		if (!plan->dir_in) {
			s->out_bytes += plan->length;
			if (s->dev->handle &&
			    !bufpool_is_mapped(&s->pool, u->buf))
				s->out_copied += plan->length; /* by usbfs */
		}
		if (plan->type == USB_TYPE_BULK)
			libusb_fill_bulk_transfer(u->xfer, h, plan->endpoint,
						  u->buf, (int)plan->length,
						  on_transfer_done, u, 0);
		else
			libusb_fill_interrupt_transfer(
				u->xfer, h, plan->endpoint, u->buf,
				(int)plan->length, on_transfer_done, u, 0);
		break;
	case USB_TYPE_ISOCHRONOUS: {
		size_t total = 0;
		u->num_iso = plan->num_iso;
		u->iso = malloc(plan->num_iso * sizeof(*u->iso));
		for (uint32_t i = 0; u->iso && i < plan->num_iso; i++) {
			u->iso[i] = f->iso[i];
			total += f->iso[i].length;
		}
		u->buf = bufpool_alloc(&s->pool, total);
		u->xfer = libusb_alloc_transfer((int)plan->num_iso);
		if (!u->iso || !u->buf || !u->xfer)
			goto nomem;
		/* OUT packets sit where their descriptors say; libusb
		 * wants them back to back. */
		size_t pos = 0;
		for (uint32_t i = 0; i < plan->num_iso; i++) {
			if (!plan->dir_in)
				memcpy(u->buf + pos, f->data + f->iso[i].offset,
				       f->iso[i].length);
			pos += f->iso[i].length;
		}
		libusb_fill_iso_transfer(u->xfer, h, plan->endpoint, u->buf,
					 (int)total, (int)plan->num_iso,
					 on_transfer_done, u, 0);
		for (uint32_t i = 0; i < plan->num_iso; i++)
			u->xfer->iso_packet_desc[i].length = f->iso[i].length;
		break;
	}
	}
	/* Not LIBUSB_TRANSFER_SHORT_NOT_OK: libusb turns a short transfer
	 * into a generic error, which the client could not tell from a
	 * real one. on_transfer_done() reports it as the kernel does. */
	if (plan->transfer_flags & URB_FLAG_ZERO_PACKET)
		u->xfer->flags |= LIBUSB_TRANSFER_ADD_ZERO_PACKET;

	if (tracing())
		log_line("CMD_SUBMIT seqnum %u type %u ep 0x%02x length %u "
			 "flags 0x%x",
			 u->seqnum, plan->type, plan->endpoint, plan->length,
			 plan->transfer_flags);
	/* A backend may complete it at once: u is not ours past success. */
	struct libusb_transfer *x = u->xfer;
	r = worker_device_submit(s->dev, x);
	/* usbfs completes nothing within its submit: x is still there. */
	if (r == 0 && s->ra && plan->type == USB_TYPE_BULK)
		bot_ra_submitted(s->ra, x);
	if (r == -ENODEV) {
		retire(s, u);
		return -ENODEV;
	}
	if (r < 0) {
		/* Refused: answered here, in its turn. */
		libusb_free_transfer(take_ptr(u->xfer));
		return queue_ret_submit(s, u, r, 0, NULL, 0, NULL, NULL, 0, 0);
	}
	return 0;
nomem:
	retire(s, u);
	return -ENOMEM;
}

static int unlink_urb(struct session *s, uint32_t seqnum, uint32_t victim)
{
	struct urb *u = find_urb(s, victim);

	/* Already answered: its RET_SUBMIT is queued or gone, and this
	 * RET_UNLINK goes after it. */
	if (!u || u->unlinking)
		return queue_ret_unlink(s, seqnum, 0);
	u->unlinking = true;
	u->unlink_seqnum = seqnum;
	/* Answered and held back: its RET_UNLINK (status 0) follows its
	 * RET_SUBMIT when that goes. */
	if (u->held || !u->xfer)
		return 0;
	/* Completion (cancelled or not) then answers with RET_UNLINK. */
	if (worker_device_cancel(s->dev, u->xfer) == -ENODEV)
		return -ENODEV;
	return 0;
}

/* What a special request does to the BOT read-ahead, before it runs. */
static int bot_ra_special(struct session *s, const struct urb_plan *plan)
{
	switch (plan->action) {
	case URB_ACTION_SET_CONFIGURATION:
		return bot_ra_interrupt(s->ra, s->peer,
					BOT_RA_SET_CONFIGURATION, 0);
	case URB_ACTION_SET_INTERFACE:
		return bot_ra_interrupt(s->ra, s->peer, BOT_RA_SET_INTERFACE,
					plan->interface);
	case URB_ACTION_CLEAR_HALT:
		return bot_ra_interrupt(s->ra, s->peer, BOT_RA_CLEAR_HALT,
					plan->endpoint);
	default:
		return bot_ra_interrupt(s->ra, s->peer, BOT_RA_RESET_DEVICE, 0);
	}
}

/* Set configuration, set interface, clear halt and reset are carried out
 * here and answered at once. */
static int special(struct session *s, const struct usbip_urb_frame *f,
		   const struct urb_plan *plan)
{
	struct worker_device *d = s->dev;
	struct urb *u = new_urb(s, f, plan);
	int status = 0;

	if (!u)
		return -ENOMEM;
	status = bot_ra_special(s, plan);
	if (status < 0) {
		retire(s, u);
		return status;
	}
	/* Carried out now, as the stub does; only the reply waits for the
	 * control transfers before it. */
	switch (plan->action) {
	case URB_ACTION_SET_CONFIGURATION:
		status = worker_device_set_configuration(d, plan->value);
		if (status == 0) {
			s->view.configuration = plan->value;
			memset(s->view.alt_setting, 0,
			       sizeof(s->view.alt_setting));
		}
		break;
	case URB_ACTION_SET_INTERFACE:
		status = worker_device_set_interface(d, plan->interface,
						     plan->value);
		if (status == 0)
			s->view.alt_setting[plan->interface] = plan->value;
		break;
	case URB_ACTION_CLEAR_HALT:
		status = worker_device_clear_halt(d, plan->endpoint);
		break;
	case URB_ACTION_RESET_DEVICE:
		status = worker_device_reset(d);
		if (status == 0)
			memset(s->view.alt_setting, 0,
			       sizeof(s->view.alt_setting));
		break;
	default:
		retire(s, u);
		return -EINVAL;
	}
	if (status == -ENODEV) {
		retire(s, u);
		return -ENODEV;
	}
	return queue_ret_submit(s, u, status, 0, NULL, 0, NULL, NULL, 0, 0);
}

/* Bulk and interrupt OUT data goes from the socket straight into a
 * transfer buffer, usbfs-mapped where there is a slot: the one copy it
 * gets on its way to the device. Control data (behind the setup packet)
 * and iso packets (closed up for libusb) go through the reader's own
 * buffer. An OUT on an endpoint that turns out not to be bulk or
 * interrupt is refused, and its buffer freed after handle_frame(). */
static uint8_t *place_payload(void *ctx, const struct usbip_urb_header *h,
			      size_t len)
{
	struct session *s = ctx;

	bufpool_free(&s->pool, take_ptr(s->placed));
	/* len is the data alone: no iso descriptors follow. */
	if (h->command != USBIP_CMD_SUBMIT || h->direction != USBIP_DIR_OUT ||
	    h->ep == 0 || len != h->u.submit.transfer_buffer_length)
		return NULL;
	s->placed = bufpool_alloc(&s->pool, len);
	return s->placed;
}

static int handle_frame(struct session *s, const struct usbip_urb_frame *f)
{
	struct urb_plan plan;
	struct usbip_fault fault = {0};
	enum urb_verdict v = urb_validate(&s->view, f, &plan, &fault);

	if (v != URB_ACCEPT) {
		log_line("%s: refused %s seqnum %u: %s = %llu: "
			 "%s; "
			 "closing the session",
			 s->peer, usbip_urb_command_name(f->header.command),
			 f->header.seqnum, fault.field,
			 (unsigned long long)fault.value, fault.reason);
		return -EBADMSG;
	}
	switch (plan.action) {
	case URB_ACTION_TRANSFER:
		return submit(s, f, &plan);
	case URB_ACTION_UNLINK:
		return unlink_urb(s, f->header.seqnum, plan.unlink_seqnum);
	default:
		return special(s, f, &plan);
	}
}

/* The first failure of the client's socket, for the session's end line. A
 * reset or a broken pipe is a client that left; anything else (EBADMSG:
 * kTLS found a record that does not authenticate) is named there. */
static void client_failed(struct session *s, int r)
{
	if (r != -ECONNRESET && r != -EPIPE && !s->stats->client_error)
		s->stats->client_error = r;
}

/* The next bytes for the reader: from the input buffer, or from the
 * socket. Returns the count, 0 for "wait for poll", -1 at end of stream,
 * -2 for a connection that failed. */
static ssize_t next_bytes(struct session *s, uint8_t *dst, size_t want)
{
	ssize_t got;

	if (s->in_off < s->in_len) {
		size_t n = s->in_len - s->in_off;
		if (n > want)
			n = want;
		memcpy(dst, s->in + s->in_off, n);
		/* The payload of a placed frame, through in[]. */
		if (s->placed && s->reader.have >= USBIP_URB_HEADER_LEN)
			s->out_copied += n;
		s->in_off += n;
		return (ssize_t)n;
	}
	if (s->drained)
		return 0;
	/* What the reader wants goes straight where it belongs (a header,
	 * OUT data into its transfer buffer), what follows into in[], so
	 * that small requests come many per read. Whatever lands in in[]
	 * is copied once more: while large OUT payloads come, only a little
	 * is read ahead, lest the next one's data land there. A short read
	 * means the socket is empty: no read just to learn EAGAIN. */
	size_t ahead = want >= DIRECT_READ_MIN ? 0
		       : s->large_out_frames   ? READ_AHEAD_AFTER_LARGE
					       : sizeof(s->in);
	struct iovec v[2] = {{.iov_base = dst, .iov_len = want},
			     {.iov_base = s->in, .iov_len = ahead}};
	do
		got = readv(s->client, v, ahead ? 2 : 1);
	while (got < 0 && errno == EINTR);
	if (got < 0 && errno == EAGAIN) {
		s->drained = true;
		return 0;
	}
	if (got < 0) {
		client_failed(s, -errno);
		return -2;
	}
	if (got == 0)
		return -1;
	s->guard_moved += (uint64_t)got;
	if ((size_t)got < want + ahead)
		s->drained = true;
	if ((size_t)got <= want)
		return got;
	s->in_len = (size_t)got - want;
	s->in_off = 0;
	return (ssize_t)want;
}

static int read_client(struct session *s)
{
	for (int frames = 0; frames < FRAMES_PER_WAKEUP;) {
		const struct usbip_urb_frame *f;
		struct usbip_fault fault = {0};
		uint8_t *dst;
		size_t want;
		ssize_t got;
		int r;

		usbip_urb_reader_next(&s->reader, &dst, &want);
		got = next_bytes(s, dst, want);
		if (got == 0)
			return 0;
		if (got == -1) {
			/* A request cut short by the end is dropped: it
			 * was never made. */
			s->input_closed = true;
			s->linger_until =
				now_ms() + SESSION_HALF_CLOSE_LINGER_MS;
			return 0;
		}
		if (got < 0) {
			s->client_gone = true;
			return 0;
		}
		/* After a payload read directly, the next is likely as
		 * large. */
		if (want >= DIRECT_READ_MIN)
			s->large_out_frames = LARGE_OUT_FRAMES + 1;
		r = usbip_urb_reader_advance(&s->reader, (size_t)got, &f,
					     &fault);
		if (r < 0) {
			log_line("%s: malformed request: %s = "
				 "%llu: %s; closing the session",
				 s->peer, fault.field ? fault.field : "?",
				 (unsigned long long)fault.value,
				 fault.reason ? fault.reason : strerror(-r));
			return -EBADMSG;
		}
		if (r == 0)
			continue;
		frames++;
		if (s->large_out_frames)
			s->large_out_frames--;
		r = handle_frame(s, f);
		/* Placed and not taken: a refused or a control/iso frame. */
		bufpool_free(&s->pool, take_ptr(s->placed));
		if (r < 0)
			return r;
	}
	return 0;
}

static void flush_client(struct session *s)
{
	size_t before = s->out.bytes;
	int r = outq_flush(&s->out, s->client);

	s->guard_moved += before - s->out.bytes;

	if (r < 0 && r != -EAGAIN) {
		client_failed(s, r);
		s->client_gone = true;
	}
}

static bool endpoint_busy(void *ctx, uint8_t endpoint)
{
	struct session *s = ctx;
	uint8_t order =
		(uint8_t)((endpoint & 0x0f) | (endpoint & 0x80 ? 0x10 : 0));

	return s->orders[order].first != NULL;
}

static void release_buffer(void *pool, void *buf)
{
	bufpool_free(pool, buf);
}

/* poll() that lets the stop signal in, and only here. */
static int session_poll(struct pollfd *pfd, size_t n, int timeout_ms)
{
	struct timespec ts = {.tv_sec = timeout_ms / 1000,
			      .tv_nsec = (long)(timeout_ms % 1000) * 1000000};

	return ppoll(pfd, n, timeout_ms < 0 ? NULL : &ts, &session_wait_mask);
}

unsigned session_busy_poll_us;

/* Spins in a row that ran out their budget before the session stops
 * spinning: a session whose device and client are both quiet (an
 * interrupt IN nobody answers for minutes) then blocks at once. */
#define BUSY_POLL_MISSES_MAX 4

/* The spin's own clock. CLOCK_MONOTONIC, since its budget is in
 * microseconds and the coarse clock moves once a tick; read only with
 * busy-poll on, never on the path of a wait without it. */
static uint64_t spin_now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* What a spin would wait for, -1 for nothing expected soon. A URB on
 * the device (or a read-ahead) completes within a bus round trip; after
 * a reply the client's next request of a synchronous exchange follows,
 * within a network round trip. Each backs off on its own: a client
 * across a slow link must not stop the spins that catch the device. */
enum { SPIN_DEVICE, SPIN_CLIENT };

static int spin_kind(const struct session *s)
{
	if (s->view.urbs_in_flight || bot_ra_busy(s->ra))
		return SPIN_DEVICE;
	return s->replied ? SPIN_CLIENT : -1;
}

/* Whether what ended a wait is what a spin of this kind waits for: a
 * device fd (or the device's timeout, device_due) for the device, a
 * request for the client. Only that clears the kind's misses: a peer
 * that trickles a byte of a header, or a reply left queued (POLLOUT),
 * wakes the wait too, and counting that as a catch would let the peer
 * keep a quiet side spinning a whole budget per byte. */
static bool spin_caught(const struct session *s, const struct pollfd *pfd,
			int kind, bool device_due)
{
	if (kind == SPIN_CLIENT)
		return (pfd[0].revents & POLLIN) != 0;
	if (device_due)
		return true;
	for (size_t i = 1; i <= s->num_device_fds; i++)
		if (pfd[i].revents)
			return true;
	return false;
}

/*
 * Spin time a session may use per window, whatever wakes it: the back-off
 * stops spins that catch nothing, but a peer can make every spin catch
 * something (a CMD_UNLINK of an unknown seqnum just inside the budget,
 * each answered at once, keeps the client side spinning: 97 % of a CPU
 * for 5 KB/s of no-ops). So at most half of each 100 ms of wall time is
 * spin, per session: the worst a peer can make a worker spin is half a
 * CPU (plus the work its requests really cost).
 *
 * Why half: a legitimate synchronous stream (one URB at a time, 0.7-1
 * ms each for a guest under TCG) spins for most of each URB, so any cap
 * below that share bites it too, and what it loses is the wakeup saved
 * on the URBs of the rest of the window, not the URBs of the spun half.
 * With half a window spun, the stream keeps the gain on every URB of
 * the first 50 ms or more of each window (the worker's own work is not
 * spin): the spun URBs being the faster ones, that is most of the
 * window's URBs. In the benchmark's guest (690 µs a URB spinning, 1280
 * sleeping, the worker spinning 80-100 % of each) that is 111-120 URBs
 * per 100 ms instead of 145 (78 without a spin): half to two thirds of
 * the gain. A quarter would keep a quarter to a third of it for a bound
 * (a quarter of a CPU instead of half) that is still not zero; a whole
 * window would not bound the attack. 100 ms: long enough that a burst
 * (an enumeration, a short transfer) spins throughout, short enough
 * that a stream's sleeping part is a pause of 50 ms at most, not a
 * stall a user notices. Time is the fine clock's, read only with
 * busy-poll on and only when a spin starts.
 */
#define BUSY_POLL_WINDOW_US 100000
#define BUSY_POLL_WINDOW_SPIN_US 50000

/* The spin time used in the window that began at spin_window_start
 * (fine clock, µs). The process's, not a session's: a standalone
 * `--listen` worker serves one client after another, and a client that
 * reconnected would otherwise open a fresh window each time. */
static uint64_t spin_window_start, spin_window_used;

/* The spin time left in the window at now; opens a new window when the
 * last one has passed. */
static uint64_t spin_allowance(uint64_t now)
{
	if (now - spin_window_start >= BUSY_POLL_WINDOW_US) {
		spin_window_start = now;
		spin_window_used = 0;
	}
	if (spin_window_used >= BUSY_POLL_WINDOW_SPIN_US)
		return 0;
	return BUSY_POLL_WINDOW_SPIN_US - spin_window_used;
}

/*
 * The wait, with a bounded busy-poll first when spin_kind() expects
 * something, its spins have not backed off and the window has spin time
 * left: the same fds, the same stop mask, a zero timeout, over and over
 * until something is ready or the budget (at most timeout_ms, at most
 * the window's allowance) is spent, then the blocking wait for what is
 * left of timeout_ms. Blocking costs a sleep and a wakeup, and the
 * wakeup a switch of address space when the client's process had the
 * CPU (the kernel stub's threads have none to switch); spinning keeps
 * the CPU and its TLB. The spin is paid at most once a wait, and for
 * one kind not at all after BUSY_POLL_MISSES_MAX of its spins in a row
 * did not catch what they waited for (spin_caught), until one of its
 * blocking waits ends with it within the budget again. *device_due: the
 * device's timeout came due while spinning (a simulated device has no
 * fd to wake the poll).
 */
static int session_wait(struct session *s, struct pollfd *pfd, size_t nfds,
			int timeout_ms, bool *device_due)
{
	int kind = session_busy_poll_us ? spin_kind(s) : -1;
	unsigned *misses = kind >= 0 ? &s->busy_poll_misses[kind] : NULL;
	bool spin = timeout_ms != 0 && misses && *misses < BUSY_POLL_MISSES_MAX;
	uint64_t budget = session_busy_poll_us, spent = 0, start = 0;
	bool capped = false; /* the budget is the window's allowance */
	int r = 0;

	s->replied = false;
	if (spin) {
		start = spin_now_us();
		uint64_t allowance = spin_allowance(start);
		/* Out of spin time: block, and do not count it a miss;
		 * the next window spins again. */
		spin = allowance > 0;
		capped = allowance < budget;
		if (capped)
			budget = allowance;
	}
	if (spin) {
		if (timeout_ms > 0 && (uint64_t)timeout_ms * 1000 < budget) {
			budget = (uint64_t)timeout_ms * 1000;
			capped = false;
		}
		do {
			/* ppoll, not poll: a stop that came is let in here
			 * as in the blocking wait (EINTR). */
			r = session_poll(pfd, nfds, 0);
			if (r != 0)
				break;
			if (s->dev->ops->timeout_ms(s->dev) == 0) {
				*device_due = true;
				break;
			}
			spent = spin_now_us() - start;
		} while (spent < budget && !session_stop);
		if (r != 0 || *device_due) {
			spin_window_used += spin_now_us() - start;
			/* A simulated device coming due is a catch for the
			 * device side (r is 0 then, and every revents 0). An
			 * EINTR (r < 0) counts neither way. */
			if (r > 0 || *device_due) {
				if (spin_caught(s, pfd, kind, *device_due))
					*misses = 0;
				else
					++*misses;
			}
			return r;
		}
		spin_window_used += spent;
		/* A spin the window's allowance cut short is no miss. */
		if (!capped)
			++*misses;
		if (timeout_ms > 0)
			timeout_ms -= (int)(spent / 1000);
		if (timeout_ms < 0)
			timeout_ms = 0;
	}
	if (!misses || spin || *misses < BUSY_POLL_MISSES_MAX)
		return session_poll(pfd, nfds, timeout_ms);
	/* Backed off: spin again once a wait ends with what the spin
	 * awaits, as soon as a spin would have caught it. The fine clock:
	 * the coarse one reads 0 for anything within a tick (4 ms at HZ
	 * 250), so a client 1 ms away would re-arm the spin after every
	 * wait and be spun for in vain. Two reads a wait, only while
	 * busy-poll is on and failing. */
	uint64_t blocked = spin_now_us();
	r = session_poll(pfd, nfds, timeout_ms);
	if (r > 0 && spin_caught(s, pfd, kind, false) &&
	    spin_now_us() - blocked <= session_busy_poll_us)
		*misses = 0;
	return r;
}

static int wait_and_dispatch(struct session *s, bool want_read, int max_ms)
{
	struct pollfd *pfd = s->pfd;
	bool device_ready = false;
	int timeout = max_ms, r;

	bool buffered = want_read && s->in_off < s->in_len;
	/* A session ending for a refusal or a lost device, or stopped,
	 * sends no more. */
	bool sending = !s->end && !session_stop;

	pfd[0].fd = s->client_gone ? -1 : s->client;
	pfd[0].events =
		(short)((want_read ? POLLIN : 0) |
			(sending && !outq_empty(&s->out) ? POLLOUT : 0));
	/* Requests already in the input buffer must not wait for the
	 * socket to wake us. */
	if (buffered)
		timeout = 0;
	int ms = s->dev->ops->timeout_ms(s->dev);
	if (ms >= 0) {
		if (timeout < 0 || ms < timeout)
			timeout = ms;
		if (ms == 0)
			device_ready = true;
	}
	size_t nfds = 1 + s->num_device_fds;
	struct pollfd *timer = &pfd[nfds];
	if (s->report_armed) {
		timer->fd = s->report_timer;
		timer->events = POLLIN;
		nfds++;
	}
	r = session_wait(s, pfd, nfds, timeout, &device_ready);
	if (r < 0 && errno != EINTR)
		return -errno;
	for (size_t i = 1; r > 0 && i <= s->num_device_fds; i++)
		if (pfd[i].revents)
			device_ready = true;
	if (r > 0 && s->report_armed && timer->revents) {
		uint64_t expiries;
		/* One shot: read only to clear it. */
		(void)!read(s->report_timer, &expiries, sizeof(expiries));
		s->report_armed = false;
		s->report_due = true;
	}

	/* Only when the device has something: libusb polls again inside. */
	if (device_ready || r == 0)
		s->dev->ops->handle_events(s->dev);
	if (s->client_gone || r < 0)
		return 0;
	if (pfd[0].revents & (POLLERR | POLLHUP) && !(pfd[0].revents & POLLIN))
		s->client_gone = true;
	/* Replies first: the completions just reaped are ready to go (also
	 * when a timer, not an fd, brought them). */
	if (!outq_empty(&s->out) && sending && !s->client_gone) {
		size_t before = s->out.bytes;
		flush_client(s);
		s->replied = s->out.bytes < before;
	}
	if (r == 0 && !buffered)
		return 0;
	if (pfd[0].revents & POLLIN)
		s->drained = false;
	if ((pfd[0].revents & POLLIN) || buffered)
		return read_client(s);
	return 0;
}

/* The guard's question, once what it allowed has crossed the socket. */
static void ask_guard(struct session *s)
{
	if (!s->guard || s->input_closed || s->guard_moved < s->guard_allowed)
		return;
	s->guard_moved = 0;
	s->guard_allowed = s->guard->check(s->guard->ctx);
	if (s->guard_allowed)
		return;
	s->guard_ended = true;
	s->input_closed = true;
	s->linger_until = now_ms() + SESSION_HALF_CLOSE_LINGER_MS;
}

/* After a half-close: true once every request is answered and sent, or
 * the linger time is over; otherwise *wait shrinks to what is left. */
static bool half_close_done(struct session *s, int *wait)
{
	uint64_t now = now_ms();

	if (!s->view.urbs_in_flight && outq_empty(&s->out))
		return true;
	if (now >= s->linger_until)
		return true;
	if (*wait < 0 || s->linger_until - now < (uint64_t)*wait)
		*wait = (int)(s->linger_until - now);
	return false;
}

/* What is left for a client that half-closed, for as long as it reads
 * within SESSION_FINAL_FLUSH_MS, or until a stop. */
static void final_flush(struct session *s)
{
	uint64_t until = now_ms() + SESSION_FINAL_FLUSH_MS, now;

	while (!outq_empty(&s->out) && !s->client_gone && !session_stop &&
	       (now = now_ms()) < until) {
		struct pollfd p = {.fd = s->client, .events = POLLOUT};
		int r = session_poll(&p, 1, (int)(until - now));

		if (r < 0 && errno != EINTR)
			break;
		if (r > 0)
			flush_client(s);
	}
	if (!outq_empty(&s->out) && !s->client_gone)
		log_line("%s: half-closed and not reading; %zu bytes of "
			 "replies dropped",
			 s->peer, s->out.bytes);
}

/* Cancels everything in flight and waits (bounded) for it to come back,
 * so that no transfer outlives the buffers it points into. */
static void drain(struct session *s)
{
	uint64_t until = now_ms() + DRAIN_TIMEOUT_MS;

	for (size_t b = 0; b < SEQNUM_BUCKETS; b++)
		for (struct urb *u = s->table[b]; u; u = u->next)
			if (u->xfer && !u->held)
				worker_device_cancel(s->dev, u->xfer);
	bot_ra_cancel_all(s->ra);
	while ((s->view.urbs_in_flight || bot_ra_busy(s->ra)) &&
	       now_ms() < until)
		wait_and_dispatch(s, false, 50);
	if (s->view.urbs_in_flight)
		log_line("%s: %u URBs did not come back in %d "
			 "ms",
			 s->peer, s->view.urbs_in_flight, DRAIN_TIMEOUT_MS);
}

/* Reports progress when one is due, or arms the timer that wakes the
 * loop when it will be. */
static void maybe_report(struct session *s, session_progress_fn progress,
			 void *progress_ctx, uint64_t *reported_urbs,
			 uint64_t *next_report)
{
	if (!progress || s->stats->urbs == *reported_urbs)
		return;
	uint64_t now = now_ms();
	if (s->report_due || now >= *next_report) {
		progress(s->stats, progress_ctx);
		*reported_urbs = s->stats->urbs;
		*next_report = now + REPORT_INTERVAL_MS;
		s->report_due = false;
		return;
	}
	if (s->report_timer < 0 || s->report_armed)
		return;
	struct itimerspec due = {
		.it_value.tv_sec = (time_t)((*next_report - now) / 1000),
		.it_value.tv_nsec =
			(long)((*next_report - now) % 1000) * 1000000,
	};
	if (timerfd_settime(s->report_timer, 0, &due, NULL) == 0)
		s->report_armed = true;
	else
		s->report_timer = -1; /* the wait's timeout does it */
}

int session_serve(struct worker_device *dev, int client, const char *peer,
		  const struct urb_limits *limits, struct session_stats *stats,
		  session_progress_fn progress, void *progress_ctx,
		  const struct session_guard *guard)
{
	uint64_t reported_urbs = 0, next_report = 0;
	_cleanup_free_ struct session *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->dev = dev;
	s->client = client;
	s->peer = peer;
	s->stats = stats;
	s->limits = *limits;
	s->guard = guard;
	s->guard_allowed = guard ? guard->bytes : 0;
	s->report_timer = -1;
	if (fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	_cleanup_close_ int report_timer =
		progress ? timerfd_create(CLOCK_MONOTONIC,
					  TFD_NONBLOCK | TFD_CLOEXEC)
			 : -1;
	s->report_timer = report_timer;
	mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD);
	/* A quarter of the share is mapped for buffers, the rest (and the
	 * quarter again, for buffers that come from the heap) is what URBs
	 * may hold: the session never holds more than its share. */
	bufpool_init(&s->pool, dev->handle, limits->usbfs_share / 4);
	if (limits->usbfs_share)
		urb_limits_for_budget(&s->limits,
				      limits->usbfs_share - s->pool.size);
	/* The BOT read-ahead's room comes out of the in-flight budget
	 * before the client's cap is set: see bot_ra_reserve. */
	uint64_t ra_reserve = 0;
	char ra_note[64] = "";
	if (dev->handle && bot_readahead_enabled && bot_ra_applies(&dev->model))
		ra_reserve = bot_ra_set_aside(&s->limits);
	if (ra_reserve)
		snprintf(ra_note, sizeof(ra_note),
			 ", %llu KiB more set aside for read-ahead",
			 (unsigned long long)ra_reserve >> 10);
	if (dev->handle)
		log_line("%s: usbfs share %llu KiB: %zu KiB mapped (%u x 1 "
			 "MiB, %u x 128 KiB, %u x 4 KiB), %zu KiB pooled "
			 "on the heap, %llu KiB in flight%s",
			 peer, (unsigned long long)limits->usbfs_share >> 10,
			 s->pool.size >> 10,
			 s->pool.region[2].mapped ? s->pool.region[2].count : 0,
			 s->pool.region[1].mapped ? s->pool.region[1].count : 0,
			 s->pool.region[0].mapped ? s->pool.region[0].count : 0,
			 s->pool.heap_size >> 10,
			 (unsigned long long)s->limits.max_bytes_in_flight >>
				 10,
			 ra_note);
	s->view.model = &dev->model;
	s->view.limits = &s->limits;
	s->view.devid = dev->wire.device.busnum << 16 | dev->wire.device.devnum;
	s->view.configuration = dev->configuration;
	s->view.granted_configuration = dev->configuration;
	s->view.seqnum_in_flight = seqnum_in_flight;
	s->view.opaque = s;
	usbip_urb_reader_init(&s->reader, USBIP_ROLE_SERVER,
			      s->limits.max_bulk_length >
					      s->limits.max_iso_length
				      ? s->limits.max_bulk_length
				      : s->limits.max_iso_length,
			      NULL, NULL);
	usbip_urb_reader_set_place(&s->reader, place_payload, s);
	/* The last entry is the report timer's. */
	s->num_device_fds = s->dev->ops->pollfds(s->dev, s->pfd + 1,
						 ARRAY_SIZE(s->pfd) - 2);
	s->out.release = release_buffer;
	s->out.release_ctx = &s->pool;
	if (ra_reserve)
		s->ra = bot_ra_new(dev, &s->pool, &s->view,
				   s->limits.max_bulk_length < BUFPOOL_HUGE
					   ? s->limits.max_bulk_length
					   : BUFPOOL_HUGE,
				   ra_reserve, endpoint_busy, s);
	worker_device_claim(dev);

	while (!s->end && !s->client_gone && !session_stop) {
		bool backlog = s->out.bytes > OUTPUT_HIGH_WATER;
		/* Woken at least once a second while there is news: by the
		 * report timer, or without one by the wait's timeout. */
		int wait = stats->urbs != reported_urbs && s->report_timer < 0
				   ? REPORT_INTERVAL_MS
				   : -1;

		if (s->input_closed && half_close_done(s, &wait))
			break;
		r = wait_and_dispatch(s, !backlog && !s->input_closed, wait);
		if (r < 0 && !s->end)
			s->end = r;
		ask_guard(s);
		maybe_report(s, progress, progress_ctx, &reported_urbs,
			     &next_report);
	}
	if (s->input_closed && s->view.urbs_in_flight && !s->end &&
	    !s->client_gone && !session_stop)
		log_line("%s: %s; cancelling %u URBs still pending after %d "
			 "ms",
			 s->peer,
			 s->guard_ended ? "at its limit" : "half-closed",
			 s->view.urbs_in_flight, SESSION_HALF_CLOSE_LINGER_MS);
	drain(s);
	/* A client that half-closed gets the rest, the cancelled URBs'
	 * replies included, within a bound; a refused, vanished or stopped
	 * one gets nothing more. */
	if (s->input_closed && !s->client_gone && s->end == 0 && !session_stop)
		final_flush(s);
	if (bot_ra_hits(s->ra))
		log_line("%s: BOT read-ahead answered %llu requests", peer,
			 (unsigned long long)bot_ra_hits(s->ra));
	/* Still in flight past the drain's bound, like a URB that did not
	 * come back: left to usbfs_io_free(). */
	if (!bot_ra_busy(s->ra))
		bot_ra_free(take_ptr(s->ra));
	worker_device_release(dev);
	usbip_urb_reader_clear(&s->reader);
	bufpool_free(&s->pool, take_ptr(s->placed));
	outq_clear(&s->out);
	if (s->out_bytes)
		log_line("%s: bulk and interrupt OUT: %llu bytes, %llu copied "
			 "again between the socket and the device",
			 peer, (unsigned long long)s->out_bytes,
			 (unsigned long long)s->out_copied);
	stats->mapped_buffers = s->pool.mapped;
	stats->heap_buffers = s->pool.pooled + s->pool.fallback;
	bufpool_destroy(&s->pool);
	return s->end || !s->guard_ended ? s->end : -EKEYEXPIRED;
}
