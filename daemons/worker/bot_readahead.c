// SPDX-License-Identifier: GPL-2.0-or-later
#include "bot_readahead.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "macros.h"
#include "usb_model.h"
#include "validate.h"

/*
 * Why the client gets exactly what the device would have given it.
 *
 * The read-ahead only ever does what a host controller may do on its
 * own: poll a bulk IN endpoint with a transfer of the size the client is
 * about to ask for, earlier than the client asks. A device cannot tell an
 * IN token sent now from one sent a round trip later, and a NAKed token
 * changes nothing in it. So as long as every byte the device gave is
 * handed to the client's request of the same endpoint and the same
 * length, and nothing else, the client sees a possible run of the plain
 * path, one where the network happened to be fast. What keeps that so:
 *
 * - Only after a well-formed CBW (31 bytes, signature, LUN, CB length,
 *   reserved bits clear) on the bulk OUT endpoint of a class 8, protocol
 *   0x50 interface in the current configuration and alternate setting,
 *   and only after the device took it (the transfer completed with all 31
 *   bytes). Only when no request of the client's is pending on the IN
 *   endpoint, and only one command is followed at a time.
 * - Sequence: data IN (dCBWDataTransferLength bytes, the direction bit
 *   set, the length within the worker's buffers) at once; the 13-byte CSW
 *   only after the data stage completed without error (a CSW read queued
 *   behind a data read that stalls would be one the host controller
 *   might still run after the stall). With no data, the CSW follows the
 *   CBW; with OUT data, or IN data too large to read ahead, it follows
 *   the client's own data transfer, watched, of the announced length.
 * - A request on the IN endpoint of the same length, with nothing of the
 *   client's before it there, takes the oldest read-ahead: the very
 *   transfer, in flight or completed, becomes the client's URB, so its
 *   status, actual length and data (a short data stage, a babble) are
 *   what the device produced for that length, and the session turns them
 *   into the reply as for any URB (SHORT_NOT_OK from the client's own
 *   flags). Per-endpoint order holds: it is taken only as the first URB
 *   of its endpoint and answers through the session's ordered replies.
 * - A stalled stage (-EPIPE) or any other error ends the read-ahead: the
 *   failed transfer is answered as it is (a stall carries no data), no
 *   CSW is read, and that endpoint is not read ahead again until a
 *   clear-halt or reset of it. So the CSW is never read before the
 *   client's clear-halt after a stall, and the device's CSW is there for
 *   the client's own read after it.
 * - An unlink of a request that took a read-ahead cancels that transfer
 *   like any other: if it is still in flight the device keeps what it had
 *   not sent and the client gets -ECONNRESET, exactly as on the plain
 *   path; if it had completed, the reply went out already and the unlink
 *   lost the race, an answer the plain path gives too whenever the device
 *   is quick (RET_UNLINK status 0 after the RET_SUBMIT).
 * - Any other request on the interface's endpoints while a read-ahead is
 *   held or in flight (another length, the OUT endpoint before the CSW
 *   was read, a request behind another of the client's): the in-flight
 *   transfer is cancelled and reaped at once (usbfs's DISCARDURB waits
 *   for the host controller, so afterwards the URB's actual length is
 *   all the device gave). If the device gave nothing (no bytes, no
 *   completed transfer: a zero-length packet is data too), it is as if
 *   nothing had been read and the request goes to the device. If it gave
 *   anything, no answer can be both byte-exact and packet-exact (the rest
 *   of a transfer the client would have cut differently is in the
 *   device, or bytes the client did not ask for are here), so the
 *   session ends, logged, rather than lose or invent a byte.
 * - SET_CONFIGURATION, SET_INTERFACE on the interface, a port reset and a
 *   Bulk-Only Mass Storage Reset: the read-ahead is cancelled and
 *   whatever it holds is dropped. Each of these resets the device's
 *   endpoints or its BOT state (BOT 1.0 5.3.4: the device makes ready
 *   for the next CBW; f_mass_storage and usb-storage treat an alternate
 *   setting change as a reset too), so data the device had not yet given
 *   when the reset came is discarded by the device; what the read-ahead
 *   took early is exactly that data, and the client cannot tell one
 *   discard from the other.
 * - CLEAR_FEATURE(ENDPOINT_HALT) on the IN endpoint: an in-flight
 *   read-ahead is cancelled (no transfer the client did not make may be
 *   pending across it); a completed one that carries data stays to
 *   answer the client's next matching read, because a device keeps data
 *   it has queued across a clear-halt (it only resets the toggle), so
 *   the client's read after it would have received those bytes; one that
 *   ended in a stall or error is dropped, since after the clear-halt the
 *   device would no longer answer so. A transfer cancelled half way
 *   (some bytes here, the rest in the device) ends the session.
 * - A request the read-ahead does not concern (ep0, other interfaces)
 *   passes untouched; requests of the client's pipelined behind the CBW
 *   or the data stage simply stop the read-ahead before it starts.
 * - What it holds is charged to the session's usbfs share like a client
 *   URB, from its submission until it is taken or dropped, out of a
 *   reserve of its own (bot_ra_reserve). A stage that does not fit in
 *   what is left of the reserve is not read ahead: the client's own
 *   request goes to the device, as with the read-ahead off.
 *
 * The precedent is usbredir's buffered bulk receiving (the host side
 * keeps bulk IN transfers going and hands their bytes to the guest's
 * requests; QEMU stops it when a request is not a multiple of the
 * endpoint's packet size). That is a byte stream re-cut into requests;
 * here each read-ahead is one whole transfer of the size the CBW
 * announced, handed over only to a request of that very size, so nothing
 * is ever re-cut and packet boundaries stay the device's.
 */

/* Off by default: on the loaded machine it was measured on (docs/
 * benchmarks.md) it gained nothing measurable, and a client that deviates
 * after the device gave data loses its session. */
bool bot_readahead_enabled = false;

enum stage { STAGE_NONE, STAGE_CBW, STAGE_DATA, STAGE_STATUS };

/* A transfer of its own on the IN endpoint, oldest first. */
struct ahead {
	struct libusb_transfer *x;
	enum stage stage;
	bool done;
	uint64_t charge; /* in charged for as long as it is queued */
};

struct bot_readahead {
	struct worker_device *dev;
	struct bufpool *pool;
	const struct urb_session *view;
	uint32_t max_length;
	/* What the queued transfers hold, and may hold at most. */
	uint64_t charged, reserve;
	bot_ra_busy_fn busy;
	void *busy_ctx;

	/* The command followed, on this interface's endpoints. */
	bool following;
	uint8_t interface, out_ep, in_ep;
	struct bot_cbw cbw;
	/* The client's transfer whose end starts the next read-ahead. */
	const struct libusb_transfer *watch;
	enum stage watch_stage;
	/* The client's data stage, expected on claim_ep: the next transfer
	 * submitted there with claim_length bytes is watched. */
	bool claim;
	uint8_t claim_ep;
	uint32_t claim_length;

	struct ahead q[2];
	unsigned nq;
	unsigned in_flight; /* own, not taken, not done */
	bool settling, closing;
	/* Endpoints (bit per number, +16 for IN) that stalled or failed:
	 * no read-ahead there until a clear-halt or reset. */
	uint32_t failed;
	uint64_t hits;
};

static uint32_t ep_bit(uint8_t ep)
{
	return 1u << ((ep & 0x0f) + (ep & 0x80 ? 16 : 0));
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* The same charge a client's bulk URB of this length gets. */
static uint64_t charge_of(uint32_t length)
{
	struct urb_plan plan = {.type = USB_TYPE_BULK, .length = length};

	return urb_plan_charge(&plan);
}

bool bot_ra_applies(const struct usb_device_model *model)
{
	for (size_t c = 0; c < model->num_configs; c++) {
		const struct usb_config_model *cfg = &model->configs[c];
		for (size_t a = 0; a < cfg->num_altsettings; a++)
			if (cfg->altsettings[a].interface_class ==
				    BOT_INTERFACE_CLASS &&
			    cfg->altsettings[a].interface_protocol ==
				    BOT_INTERFACE_PROTOCOL)
				return true;
	}
	return false;
}

/*
 * Why a reserve of its own rather than a share of the client's budget
 * that it gives back when the client needs room: giving back is not
 * always possible. A transfer the device has given bytes to (completed,
 * or cut short by a cancel) cannot be undone without losing them, so a
 * client URB that needed its room would have to be refused or the
 * session ended; and whether the device gave anything is only known once
 * the transfer was cancelled. So the read-ahead never competes with the
 * client: its room is set aside when the session starts, the client's
 * cap is the rest, the same whatever the read-ahead holds at any moment,
 * and both together never pass the session's budget. The cost is that
 * cap, lower by the reserve on sessions of mass-storage devices with the
 * read-ahead on: at most 1 MiB and 1037 bytes (a quarter of the budget
 * on small shares), far from what usb-storage's one command in flight
 * holds.
 */
uint64_t bot_ra_reserve(uint64_t budget)
{
	uint64_t most = charge_of(BUFPOOL_HUGE) + charge_of(BOT_CSW_LEN);
	uint64_t quarter = budget / 4;

	/* Not even a status fits: nothing to read ahead. */
	if (quarter < charge_of(BOT_CSW_LEN))
		return 0;
	return quarter < most ? quarter : most;
}

uint64_t bot_ra_set_aside(struct urb_limits *l)
{
	uint64_t reserve = bot_ra_reserve(l->max_bytes_in_flight);

	if (reserve)
		urb_limits_for_budget(l, l->max_bytes_in_flight - reserve);
	return reserve;
}

bool bot_cbw_parse(const uint8_t *buf, size_t len, struct bot_cbw *cbw)
{
	if (len != BOT_CBW_LEN || le32(buf) != BOT_CBW_SIGNATURE)
		return false;
	/* bmCBWFlags: only the direction bit; bCBWLUN: 4 bits;
	 * bCBWCBLength: 5 bits, 1 to 16. */
	if ((buf[12] & 0x7f) || (buf[13] & 0xf0) || (buf[14] & 0xe0) ||
	    buf[14] < 1 || buf[14] > 16)
		return false;
	cbw->tag = le32(buf + 4);
	cbw->data_length = le32(buf + 8);
	cbw->data_in = buf[12] & 0x80;
	cbw->lun = buf[13];
	cbw->cb_length = buf[14];
	return true;
}

struct bot_readahead *bot_ra_new(struct worker_device *dev,
				 struct bufpool *pool,
				 const struct urb_session *view,
				 uint32_t max_length, uint64_t reserve,
				 bot_ra_busy_fn busy, void *busy_ctx)
{
	struct bot_readahead *ra = calloc(1, sizeof(*ra));

	if (!ra)
		return NULL;
	ra->dev = dev;
	ra->pool = pool;
	ra->view = view;
	ra->max_length = max_length;
	ra->reserve = reserve;
	ra->busy = busy;
	ra->busy_ctx = busy_ctx;
	return ra;
}

static void drop(struct bot_readahead *ra, struct libusb_transfer *x)
{
	bufpool_free(ra->pool, x->buffer);
	libusb_free_transfer(x);
}

/* q[i] leaves the queue, and its charge with it: every way out (taken,
 * dropped, the session's end) comes here, so it is released once. */
static struct ahead dequeue(struct bot_readahead *ra, unsigned i)
{
	struct ahead a = ra->q[i];

	ra->charged -= a.charge;
	for (unsigned k = i + 1; k < ra->nq; k++)
		ra->q[k - 1] = ra->q[k];
	ra->nq--;
	return a;
}

/* Drops every completed one it holds (those in flight stay, to be
 * reaped first). */
static void drop_completed(struct bot_readahead *ra)
{
	for (unsigned i = 0; i < ra->nq;)
		if (ra->q[i].done)
			drop(ra, dequeue(ra, i).x);
		else
			i++;
}

void bot_ra_free(struct bot_readahead *ra)
{
	if (!ra)
		return;
	/* Only completed ones can be left after a drain. */
	drop_completed(ra);
	free(ra);
}

uint64_t bot_ra_hits(const struct bot_readahead *ra)
{
	return ra ? ra->hits : 0;
}

uint64_t bot_ra_charged(const struct bot_readahead *ra)
{
	return ra ? ra->charged : 0;
}

bool bot_ra_busy(const struct bot_readahead *ra)
{
	return ra && ra->in_flight;
}

/* The Bulk-Only interface whose bulk OUT endpoint is out_ep, in the
 * current configuration and alternate settings, and its bulk IN. */
static bool find_interface(const struct bot_readahead *ra, uint8_t out_ep,
			   uint8_t *interface, uint8_t *in_ep)
{
	const struct urb_session *v = ra->view;
	const struct usb_config_model *c =
		usb_model_config(v->model, v->configuration);

	if (!c || !v->configuration)
		return false;
	for (unsigned i = 0; i < c->num_interfaces; i++) {
		uint8_t n = c->interface_numbers[i];
		const struct usb_altsetting_model *a =
			usb_config_altsetting(c, n, v->alt_setting[n]);
		bool has_out = false, has_in = false;
		if (!a || a->interface_class != BOT_INTERFACE_CLASS ||
		    a->interface_protocol != BOT_INTERFACE_PROTOCOL)
			continue;
		for (unsigned e = 0; e < a->num_endpoints; e++) {
			const struct usb_endpoint_model *m = &a->endpoints[e];
			if (m->type != USB_TYPE_BULK)
				continue;
			if (m->address == out_ep)
				has_out = true;
			else if ((m->address & 0x80) && !has_in) {
				has_in = true;
				*in_ep = m->address;
			}
		}
		if (has_out && has_in) {
			*interface = n;
			return true;
		}
	}
	return false;
}

static void stop_following(struct bot_readahead *ra)
{
	ra->following = false;
	ra->watch = NULL;
	ra->claim = false;
}

static void LIBUSB_CALL own_done(struct libusb_transfer *x);

/* Whether a transfer of length bytes fits in what is left of the
 * reserve. */
static bool fits(const struct bot_readahead *ra, uint32_t length)
{
	return ra->charged + charge_of(length) <= ra->reserve;
}

static void start(struct bot_readahead *ra, enum stage stage, uint32_t length)
{
	struct libusb_transfer *x;
	uint8_t *buf;

	if (ra->closing || ra->nq >= ARRAY_SIZE(ra->q) ||
	    (ra->failed & ep_bit(ra->in_ep)) || !fits(ra, length)) {
		stop_following(ra);
		return;
	}
	buf = bufpool_alloc(ra->pool, length);
	x = libusb_alloc_transfer(0);
	if (!buf || !x) {
		bufpool_free(ra->pool, buf);
		libusb_free_transfer(x);
		stop_following(ra);
		return;
	}
	libusb_fill_bulk_transfer(x, ra->dev->handle, ra->in_ep, buf,
				  (int)length, own_done, ra, 0);
	/* Refused (or the device gone, which the session learns from its
	 * own next transfer): nothing was read. */
	if (worker_device_submit(ra->dev, x) < 0) {
		drop(ra, x);
		stop_following(ra);
		return;
	}
	ra->q[ra->nq++] = (struct ahead){
		.x = x, .stage = stage, .charge = charge_of(length)};
	ra->charged += charge_of(length);
	ra->in_flight++;
	if (stage == STAGE_STATUS)
		stop_following(ra); /* the last stage of the command */
}

static void expect_client_data(struct bot_readahead *ra, uint8_t ep,
			       uint32_t length)
{
	ra->claim = true;
	ra->claim_ep = ep;
	ra->claim_length = length;
}

/* A stage of the followed command ended: start the next one. */
static void stage_ended(struct bot_readahead *ra, enum stage stage,
			const struct libusb_transfer *x)
{
	uint8_t ep = stage == STAGE_CBW ? ra->out_ep : ra->in_ep;

	if (x->status != LIBUSB_TRANSFER_COMPLETED) {
		if (x->status != LIBUSB_TRANSFER_CANCELLED)
			ra->failed |= ep_bit(stage == STAGE_DATA
						     ? (uint8_t)x->endpoint
						     : ep);
		stop_following(ra);
		return;
	}
	if (!ra->following || ra->settling || ra->closing)
		return;
	switch (stage) {
	case STAGE_CBW:
		if (x->actual_length != BOT_CBW_LEN)
			break;
		if (!ra->cbw.data_length)
			start(ra, STAGE_STATUS, BOT_CSW_LEN);
		else if (!ra->cbw.data_in)
			expect_client_data(ra, ra->out_ep, ra->cbw.data_length);
		else if (ra->cbw.data_length <= ra->max_length &&
			 fits(ra, ra->cbw.data_length))
			start(ra, STAGE_DATA, ra->cbw.data_length);
		else /* too large, or the reserve is short: the client's */
			expect_client_data(ra, ra->in_ep, ra->cbw.data_length);
		return;
	case STAGE_DATA:
		/* OUT data goes whole or fails; IN may end short, and the
		 * CSW then follows as usual. */
		if (!(x->endpoint & 0x80) && x->actual_length != x->length)
			break;
		start(ra, STAGE_STATUS, BOT_CSW_LEN);
		return;
	default:
		break;
	}
	stop_following(ra);
}

static void LIBUSB_CALL own_done(struct libusb_transfer *x)
{
	struct bot_readahead *ra = x->user_data;

	for (unsigned i = 0; i < ra->nq; i++)
		if (ra->q[i].x == x) {
			ra->q[i].done = true;
			ra->in_flight--;
			/* The session is ending: nobody will take it. */
			if (ra->closing) {
				drop(ra, dequeue(ra, i).x);
				return;
			}
			if (x->status != LIBUSB_TRANSFER_COMPLETED &&
			    x->status != LIBUSB_TRANSFER_CANCELLED)
				ra->failed |= ep_bit(ra->in_ep);
			if (ra->q[i].stage == STAGE_DATA && ra->following)
				stage_ended(ra, STAGE_DATA, x);
			return;
		}
}

void bot_ra_completed(struct bot_readahead *ra, const struct libusb_transfer *x)
{
	if (!ra || !ra->watch || x != ra->watch)
		return;
	enum stage stage = ra->watch_stage;
	ra->watch = NULL;
	stage_ended(ra, stage, x);
}

void bot_ra_submitted(struct bot_readahead *ra, const struct libusb_transfer *x)
{
	uint8_t ep = (uint8_t)x->endpoint;
	uint8_t interface = 0, in_ep = 0;
	struct bot_cbw cbw;

	if (!ra || ra->closing || x->type != LIBUSB_TRANSFER_TYPE_BULK)
		return;
	/* The client's data stage, announced by the CBW. */
	if (ra->claim) {
		if (ep == ra->claim_ep &&
		    (uint32_t)x->length == ra->claim_length) {
			ra->claim = false;
			ra->watch = x;
			ra->watch_stage = STAGE_DATA;
		}
		return;
	}
	if ((ep & 0x80) || ra->following || ra->nq || ra->in_flight ||
	    (ra->failed & ep_bit(ep)) || x->length < 0 ||
	    !bot_cbw_parse(x->buffer, (size_t)x->length, &cbw) ||
	    !find_interface(ra, ep, &interface, &in_ep) ||
	    (ra->failed & ep_bit(in_ep)) || ra->busy(ra->busy_ctx, in_ep))
		return;
	ra->following = true;
	ra->interface = interface;
	ra->out_ep = ep;
	ra->in_ep = in_ep;
	ra->cbw = cbw;
	ra->watch = x;
	ra->watch_stage = STAGE_CBW;
}

/* How long settle() waits for a cancelled transfer: usbfs gives it back
 * as DISCARDURB returns, so this bounds only a broken backend. */
#define SETTLE_TIMEOUT_MS 1000

/* Cancels every own transfer still in flight and reaps it, so that its
 * actual length is all the device gave. 0, or -ETIMEDOUT. Completions of
 * the client's own transfers reaped on the way go to the session as
 * usual; nothing new starts meanwhile. */
static int settle(struct bot_readahead *ra)
{
	struct timespec pause = {.tv_nsec = 1000000};

	ra->settling = true;
	stop_following(ra);
	for (unsigned i = 0; i < ra->nq; i++)
		if (!ra->q[i].done)
			worker_device_cancel(ra->dev, ra->q[i].x);
	for (unsigned t = 0; ra->in_flight && t < SETTLE_TIMEOUT_MS; t++) {
		ra->dev->ops->handle_events(ra->dev);
		if (ra->in_flight)
			nanosleep(&pause, NULL);
	}
	ra->settling = false;
	return ra->in_flight ? -ETIMEDOUT : 0;
}

/* Whether the device gave x anything: bytes, or a transfer that
 * completed (a zero-length packet ends a transfer too). */
static bool gave_data(const struct libusb_transfer *x)
{
	return x->actual_length > 0 || x->status == LIBUSB_TRANSFER_COMPLETED;
}

/* After settle(): nothing is in flight. */
static void drop_all(struct bot_readahead *ra)
{
	while (ra->nq)
		drop(ra, dequeue(ra, 0).x);
}

/* A request the read-ahead cannot answer came while it holds or reads:
 * either nothing was taken from the device, or the session ends. */
static int deviation(struct bot_readahead *ra, const char *peer,
		     const char *what, uint8_t ep, uint32_t length)
{
	uint64_t held = 0;
	bool gave = false;

	if (settle(ra) < 0) {
		log_line("%s: BOT read-ahead on endpoint 0x%02x did not come "
			 "back from a cancel; closing the session",
			 peer, ra->in_ep);
		return -ETIMEDOUT;
	}
	for (unsigned i = 0; i < ra->nq; i++) {
		gave = gave || gave_data(ra->q[i].x);
		held += (uint64_t)ra->q[i].x->actual_length;
	}
	drop_all(ra);
	if (!gave)
		return BOT_RA_PASS;
	log_line("%s: BOT read-ahead holds %llu bytes the device gave on "
		 "endpoint 0x%02x, and the client asked for %s (endpoint "
		 "0x%02x, %u bytes); closing the session rather than lose "
		 "or invent data",
		 peer, (unsigned long long)held, ra->in_ep, what, ep, length);
	return -EPROTO;
}

int bot_ra_request(struct bot_readahead *ra, const char *peer, uint8_t endpoint,
		   uint32_t length, bool first, struct libusb_transfer **x)
{
	*x = NULL;
	if (!ra || (!ra->following && !ra->nq) ||
	    (endpoint != ra->in_ep && endpoint != ra->out_ep))
		return BOT_RA_PASS;
	if (ra->nq) {
		struct ahead a = ra->q[0];
		if (endpoint != ra->in_ep)
			return deviation(ra, peer,
					 "the OUT endpoint before "
					 "the status",
					 endpoint, length);
		if (!first || (uint32_t)a.x->length != length)
			return deviation(ra, peer, "a different request",
					 endpoint, length);
		/* Its charge goes: the client's URB, tracked with the very
		 * same charge (charge_of is urb_plan_charge of a bulk URB of
		 * this length), holds the transfer from here, within the
		 * client's own cap. */
		dequeue(ra, 0);
		ra->hits++;
		*x = a.x;
		if (a.done)
			return BOT_RA_COMPLETED;
		/* The session's from here; its end still starts the CSW. */
		ra->in_flight--;
		if (a.stage == STAGE_DATA && ra->following) {
			ra->watch = a.x;
			ra->watch_stage = STAGE_DATA;
		}
		return BOT_RA_IN_FLIGHT;
	}
	/* Following, nothing read ahead yet: the client's data stage is
	 * watched (bot_ra_submitted); anything else stops it. */
	if (ra->claim && first && endpoint == ra->claim_ep &&
	    length == ra->claim_length)
		return BOT_RA_PASS;
	stop_following(ra);
	return BOT_RA_PASS;
}

int bot_ra_interrupt(struct bot_readahead *ra, const char *peer,
		     enum bot_ra_event ev, uint8_t arg)
{
	if (!ra)
		return 0;
	switch (ev) {
	case BOT_RA_SET_INTERFACE:
	case BOT_RA_BOT_RESET:
		ra->failed = 0;
		if ((ra->following || ra->nq) && arg != ra->interface)
			return 0;
		break;
	case BOT_RA_SET_CONFIGURATION:
	case BOT_RA_RESET_DEVICE:
		ra->failed = 0;
		break;
	case BOT_RA_CLEAR_HALT:
		ra->failed &= ~ep_bit(arg);
		if (arg != ra->in_ep && arg != ra->out_ep)
			return 0;
		if (arg == ra->out_ep || !ra->nq) {
			stop_following(ra);
			return 0;
		}
		if (settle(ra) < 0)
			return -ETIMEDOUT;
		/* Completed with data: kept. Failed with nothing: dropped.
		 * Cut short with some: the rest is in the device. */
		for (unsigned i = 0; i < ra->nq;) {
			struct libusb_transfer *x = ra->q[i].x;
			if (x->status == LIBUSB_TRANSFER_COMPLETED) {
				i++;
			} else if (!x->actual_length) {
				drop(ra, dequeue(ra, i).x);
			} else {
				log_line("%s: BOT read-ahead cut short by a "
					 "clear-halt of endpoint 0x%02x with "
					 "%d bytes read; closing the session",
					 peer, arg, x->actual_length);
				drop_all(ra);
				return -EPROTO;
			}
		}
		return 0;
	}
	if (settle(ra) < 0)
		return -ETIMEDOUT;
	drop_all(ra);
	return 0;
}

int bot_ra_control(struct bot_readahead *ra, const char *peer,
		   const uint8_t setup[8])
{
	/* Class, interface, host to device; bRequest 0xff, wValue 0. */
	if (setup[0] == 0x21 && setup[1] == 0xff)
		return bot_ra_interrupt(ra, peer, BOT_RA_BOT_RESET, setup[4]);
	return 0;
}

void bot_ra_cancel_all(struct bot_readahead *ra)
{
	if (!ra)
		return;
	ra->closing = true;
	stop_following(ra);
	drop_completed(ra);
	for (unsigned i = 0; i < ra->nq; i++)
		worker_device_cancel(ra->dev, ra->q[i].x);
}
