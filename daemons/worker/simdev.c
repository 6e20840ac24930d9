// SPDX-License-Identifier: GPL-2.0-or-later
#include "simdev.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "macros.h"

/* pid.codes test VID and PIDs, which exist for devices like these. */
#define SIM_VID_LO 0x09
#define SIM_VID_HI 0x12

#define NS_PER_MS 1000000ull
#define NEVER UINT64_MAX

#define KEYBOARD_TEXT_MAX 4096
#define KEYBOARD_REPORT_LEN 8
#define KEYBOARD_INTERVAL_MS 10
#define KEYBOARD_ENDPOINT 0x81

#define AUDIO_OUT_ENDPOINT 0x01
#define AUDIO_IN_ENDPOINT 0x82
#define AUDIO_RATE 48000
#define AUDIO_FRAME_BYTES 4 /* 16-bit stereo */
/* Played but not yet captured: one second, then the oldest is dropped. */
#define AUDIO_FIFO_BYTES (AUDIO_RATE * AUDIO_FRAME_BYTES)

#define ZERO_OUT_ENDPOINT 0x02
#define ZERO_IN_ENDPOINT 0x81
#define ZERO_PATTERN_MOD 63
#define ZERO_REQUEST_PATTERN 0x5c /* as usbtest's control read */
#define ZERO_REQUEST_SINK 0x5b	  /* and control write */
/* Test hooks for reply order (usbip-probe's order-* scripts): a control
 * read answered wValue ms late, and a control write that keeps the bulk
 * source busy for wValue ms. */
#define ZERO_REQUEST_SLOW 0x5d
#define ZERO_REQUEST_BULK_BUSY 0x5e
#define ZERO_DELAY_MAX_MS 1000

/* HID 1.11 appendix B.1: the boot keyboard's report descriptor. */
static const uint8_t keyboard_report_descriptor[] = {
	0x05, 0x01, 0x09, 0x06, 0xa1, 0x01, 0x05, 0x07, 0x19, 0xe0, 0x29,
	0xe7, 0x15, 0x00, 0x25, 0x01, 0x75, 0x01, 0x95, 0x08, 0x81, 0x02,
	0x95, 0x01, 0x75, 0x08, 0x81, 0x01, 0x95, 0x05, 0x75, 0x01, 0x05,
	0x08, 0x19, 0x01, 0x29, 0x05, 0x91, 0x02, 0x95, 0x01, 0x75, 0x03,
	0x91, 0x01, 0x95, 0x06, 0x75, 0x08, 0x15, 0x00, 0x25, 0x65, 0x05,
	0x07, 0x19, 0x00, 0x29, 0x65, 0x81, 0x00, 0xc0,
};
_Static_assert(sizeof(keyboard_report_descriptor) == 63, "report length");

/* clang-format off */
static const uint8_t keyboard_descriptors[] = {
	/* device: USB 2.0, ep0 8 bytes, 1209:0001, strings 1 2 3 */
	0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x08,
	SIM_VID_LO, SIM_VID_HI, 0x01, 0x00, 0x00, 0x01, 0x01, 0x02, 0x03, 0x01,
	/* configuration 1: 34 bytes, 1 interface, remote wakeup, 100 mA */
	0x09, 0x02, 0x22, 0x00, 0x01, 0x01, 0x00, 0xa0, 0x32,
	/* interface 0: HID, boot subclass, keyboard protocol */
	0x09, 0x04, 0x00, 0x00, 0x01, 0x03, 0x01, 0x01, 0x00,
	/* HID 1.11, one report descriptor of 63 bytes */
	0x09, 0x21, 0x11, 0x01, 0x00, 0x01, 0x22, 0x3f, 0x00,
	/* endpoint 0x81 interrupt IN, 8 bytes, every 10 ms */
	0x07, 0x05, KEYBOARD_ENDPOINT, 0x03, 0x08, 0x00, KEYBOARD_INTERVAL_MS,
};
#define KEYBOARD_HID_DESCRIPTOR_OFFSET (18 + 9 + 9)

static const uint8_t audio_descriptors[] = {
	/* device: USB 1.1, ep0 64 bytes, 1209:0002, strings 1 2 3 */
	0x12, 0x01, 0x10, 0x01, 0x00, 0x00, 0x00, 0x40,
	SIM_VID_LO, SIM_VID_HI, 0x02, 0x00, 0x00, 0x01, 0x01, 0x02, 0x03, 0x01,
	/* configuration 1: 174 bytes, 3 interfaces, bus powered, 100 mA */
	0x09, 0x02, 0xae, 0x00, 0x03, 0x01, 0x00, 0x80, 0x32,
	/* interface 0: audio control */
	0x09, 0x04, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00,
	/* AC header: ADC 1.00, 52 bytes, streaming interfaces 1 and 2 */
	0x0a, 0x24, 0x01, 0x00, 0x01, 0x34, 0x00, 0x02, 0x01, 0x02,
	/* input terminal 1: USB streaming, 2 channels (L, R) */
	0x0c, 0x24, 0x02, 0x01, 0x01, 0x01, 0x00, 0x02, 0x03, 0x00, 0x00, 0x00,
	/* output terminal 2: speaker, from 1 */
	0x09, 0x24, 0x03, 0x02, 0x01, 0x03, 0x00, 0x01, 0x00,
	/* input terminal 3: microphone, 2 channels */
	0x0c, 0x24, 0x02, 0x03, 0x01, 0x02, 0x00, 0x02, 0x03, 0x00, 0x00, 0x00,
	/* output terminal 4: USB streaming, from 3 */
	0x09, 0x24, 0x03, 0x04, 0x01, 0x01, 0x00, 0x03, 0x00,
	/* interface 1 (playback): alt 0 idle, alt 1 streaming */
	0x09, 0x04, 0x01, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00,
	0x09, 0x04, 0x01, 0x01, 0x01, 0x01, 0x02, 0x00, 0x00,
	/* AS general: terminal 1, delay 1, PCM */
	0x07, 0x24, 0x01, 0x01, 0x01, 0x01, 0x00,
	/* format type I: 2 channels, 2 bytes, 16 bits, 48000 Hz */
	0x0b, 0x24, 0x02, 0x01, 0x02, 0x02, 0x10, 0x01, 0x80, 0xbb, 0x00,
	/* endpoint 0x01 iso adaptive OUT, 192 bytes, every frame */
	0x09, 0x05, AUDIO_OUT_ENDPOINT, 0x09, 0xc0, 0x00, 0x01, 0x00, 0x00,
	/* AS endpoint: sampling frequency control */
	0x07, 0x25, 0x01, 0x01, 0x00, 0x00, 0x00,
	/* interface 2 (capture): alt 0 idle, alt 1 streaming */
	0x09, 0x04, 0x02, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00,
	0x09, 0x04, 0x02, 0x01, 0x01, 0x01, 0x02, 0x00, 0x00,
	/* AS general: terminal 4; the same format */
	0x07, 0x24, 0x01, 0x04, 0x01, 0x01, 0x00,
	0x0b, 0x24, 0x02, 0x01, 0x02, 0x02, 0x10, 0x01, 0x80, 0xbb, 0x00,
	/* endpoint 0x82 iso async IN, 192 bytes, every frame */
	0x09, 0x05, AUDIO_IN_ENDPOINT, 0x05, 0xc0, 0x00, 0x01, 0x00, 0x00,
	0x07, 0x25, 0x01, 0x01, 0x00, 0x00, 0x00,
};
_Static_assert(sizeof(audio_descriptors) == 18 + 174, "audio wTotalLength");

static const uint8_t zero_descriptors[] = {
	/* device: USB 2.0, vendor class, ep0 64 bytes, 1209:0003 */
	0x12, 0x01, 0x00, 0x02, 0xff, 0x00, 0x00, 0x40,
	SIM_VID_LO, SIM_VID_HI, 0x03, 0x00, 0x00, 0x01, 0x01, 0x02, 0x03, 0x01,
	/* configuration 1: 32 bytes, 1 interface */
	0x09, 0x02, 0x20, 0x00, 0x01, 0x01, 0x00, 0x80, 0x32,
	0x09, 0x04, 0x00, 0x00, 0x02, 0xff, 0x00, 0x00, 0x00,
	/* bulk OUT 0x02 and IN 0x81 (as mass storage has them), 512 bytes */
	0x07, 0x05, ZERO_OUT_ENDPOINT, 0x02, 0x00, 0x02, 0x00,
	0x07, 0x05, ZERO_IN_ENDPOINT, 0x02, 0x00, 0x02, 0x00,
};
/* clang-format on */
_Static_assert(sizeof(zero_descriptors) == 18 + 32, "zero wTotalLength");

enum sim_kind { SIM_KEYBOARD, SIM_AUDIO_LOOPBACK, SIM_ZERO };

/* A transfer waiting for its time: kept in order of due time. */
struct pending {
	struct pending *next;
	struct libusb_transfer *x;
	uint64_t due_ns; /* NEVER: until cancelled */
	bool cancelled;
	size_t report; /* the keyboard report it carries */
};

struct sim {
	enum sim_kind kind;
	const char *product;
	const uint8_t *descriptors;
	size_t descriptors_len;
	struct pending *queue;
	uint8_t alt[3]; /* per interface number */
	/* keyboard */
	uint8_t (*reports)[KEYBOARD_REPORT_LEN];
	size_t num_reports, next_report;
	uint64_t next_report_ns;
	uint8_t idle, protocol, leds;
	/* audio */
	uint8_t *fifo;
	size_t fifo_head, fifo_len;
	uint64_t out_clock_ns, in_clock_ns;
	/* ep0 answers one request after the other, as a control pipe does;
	 * the bulk source answers no earlier than bulk_in_ns. */
	uint64_t control_clock_ns, bulk_in_ns;
	uint64_t dropped;
	uint32_t rate;
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static struct sim *sim_of(struct worker_device *d)
{
	return d->sim;
}

/* ASCII to boot keyboard usage and shift (HID usage tables, page 7). */
static bool keycode(char c, uint8_t *code, bool *shift)
{
	static const char plain[] = "1234567890\n\x1b\b\t -=[]\\#;'`,./";
	static const char shifted[] = "!@#$%^&*()";
	static const char shifted_punct[] = "_+{}|~:\"~<>?";
	static const char punct[] = "-=[]\\#;'`,./";
	const char *p;

	*shift = false;
	if (c >= 'a' && c <= 'z') {
		*code = (uint8_t)(0x04 + c - 'a');
		return true;
	}
	if (c >= 'A' && c <= 'Z') {
		*code = (uint8_t)(0x04 + c - 'A');
		*shift = true;
		return true;
	}
	if (c && (p = strchr(plain, c))) {
		*code = (uint8_t)(0x1e + (p - plain));
		return true;
	}
	if (c && (p = strchr(shifted, c))) {
		*code = (uint8_t)(0x1e + (p - shifted));
		*shift = true;
		return true;
	}
	if (c && (p = strchr(shifted_punct, c))) {
		/* Shifted twins of "-=[]\#;'`,./" in the same order; '#'
		 * (non-US) has none, and '~' sits in for it. */
		*code = (uint8_t)(0x1e +
				  (strchr(plain, punct[p - shifted_punct]) -
				   plain));
		*shift = true;
		return true;
	}
	return false;
}

/* Each character is a press report and a release report. */
static int keyboard_script(struct sim *sim, const char *text, char *msg,
			   size_t msg_len)
{
	size_t len = strlen(text);

	if (len > KEYBOARD_TEXT_MAX)
		return log_fail(-EINVAL, msg, msg_len,
				"keyboard text longer than %d bytes",
				KEYBOARD_TEXT_MAX);
	sim->reports = calloc(2 * len + 1, KEYBOARD_REPORT_LEN);
	if (!sim->reports)
		return log_fail(-ENOMEM, msg, msg_len,
				"no memory for the keyboard's reports");
	for (size_t i = 0; i < len; i++) {
		uint8_t code;
		bool shift;

		if (!keycode(text[i], &code, &shift))
			return log_fail(-EINVAL, msg, msg_len,
					"the keyboard cannot type byte 0x%02x "
					"at offset %zu",
					(unsigned char)text[i], i);
		sim->reports[2 * i][0] = shift ? 0x02 : 0x00; /* left shift */
		sim->reports[2 * i][2] = code;
	}
	sim->num_reports = 2 * len;
	return 0;
}

static void enqueue(struct sim *sim, struct pending *p)
{
	struct pending **at = &sim->queue;

	while (*at && (*at)->due_ns <= p->due_ns)
		at = &(*at)->next;
	p->next = *at;
	*at = p;
}

static size_t string_descriptor(const struct sim *sim, uint8_t index,
				uint8_t *out, size_t max)
{
	const char *text;
	uint8_t d[2 + 2 * 64];
	size_t n;

	switch (index) {
	case 0:
		d[0] = 4, d[1] = 3, d[2] = 0x09, d[3] = 0x04; /* en-US */
		n = 4;
		goto out;
	case 1:
		text = "usbip-broker";
		break;
	case 2:
		text = sim->product;
		break;
	case 3:
		text = "SIM0001";
		break;
	default:
		return 0;
	}
	n = 2;
	for (size_t i = 0; text[i] && n + 2 <= sizeof(d); i++) {
		d[n++] = (uint8_t)text[i];
		d[n++] = 0;
	}
	d[0] = (uint8_t)n;
	d[1] = 3;
out:
	n = n < max ? n : max;
	memcpy(out, d, n);
	return n;
}

static void fill_pattern(uint8_t *p, size_t n)
{
	size_t done = n < ZERO_PATTERN_MOD ? n : ZERO_PATTERN_MOD;

	for (size_t i = 0; i < done; i++)
		p[i] = (uint8_t)i;
	/* The pattern repeats every 63 bytes: double what is there. */
	while (done < n) {
		size_t chunk = done - done % ZERO_PATTERN_MOD;
		if (chunk > n - done)
			chunk = n - done;
		memcpy(p + done, p, chunk);
		done += chunk;
	}
}

/* The data of a standard or class request the device answers; -EPIPE is
 * a stall, as real devices answer what they do not know. data holds
 * exactly wLength bytes (the session allocates no more): every answer is
 * built elsewhere and cut to wLength, as a device's data stage is. */
static int control(struct sim *sim, const uint8_t *setup, uint8_t *data,
		   size_t *actual)
{
	uint8_t type = setup[0], request = setup[1];
	uint16_t value = (uint16_t)(setup[2] | setup[3] << 8);
	uint16_t length = (uint16_t)(setup[6] | setup[7] << 8);
	uint8_t answer[2 + 2 * 64];
	const uint8_t *src = NULL;
	size_t n = 0;

	*actual = 0;
	switch (type << 8 | request) {
	case 0x8006: /* GET_DESCRIPTOR, device */
		if (value >> 8 == 1)
			src = sim->descriptors, n = 18;
		else if (value == 0x0200)
			src = sim->descriptors + 18,
			n = sim->descriptors_len - 18;
		else if (value >> 8 == 3) {
			n = string_descriptor(sim, (uint8_t)value, answer,
					      sizeof(answer));
			if (!n)
				return -EPIPE;
			src = answer;
		}
		break;
	case 0x8106: /* GET_DESCRIPTOR, interface: HID class */
		if (sim->kind != SIM_KEYBOARD)
			break;
		if (value == 0x2200)
			src = keyboard_report_descriptor,
			n = sizeof(keyboard_report_descriptor);
		else if (value == 0x2100)
			src = keyboard_descriptors +
			      KEYBOARD_HID_DESCRIPTOR_OFFSET,
			n = 9;
		break;
	case 0x8000: /* GET_STATUS */
	case 0x8100:
	case 0x8200:
		answer[0] = answer[1] = 0;
		src = answer, n = 2;
		break;
	case 0x0001: /* CLEAR_FEATURE, SET_FEATURE (remote wakeup) */
	case 0x0003:
		return 0;
	}
	if (sim->kind == SIM_KEYBOARD) {
		switch (type << 8 | request) {
		case 0x2109: /* SET_REPORT: the LEDs */
			sim->leds = length ? data[0] : 0;
			*actual = length;
			return 0;
		case 0x210a: /* SET_IDLE */
			sim->idle = (uint8_t)(value >> 8);
			return 0;
		case 0x210b: /* SET_PROTOCOL */
			sim->protocol = (uint8_t)value;
			return 0;
		case 0xa101: /* GET_REPORT: nothing pressed */
			memset(answer, 0, KEYBOARD_REPORT_LEN);
			src = answer, n = KEYBOARD_REPORT_LEN;
			break;
		case 0xa102: /* GET_IDLE */
			answer[0] = sim->idle;
			src = answer, n = 1;
			break;
		case 0xa103: /* GET_PROTOCOL */
			answer[0] = sim->protocol;
			src = answer, n = 1;
			break;
		}
	}
	if (sim->kind == SIM_ZERO) {
		/* Vendor requests with data stages as long as USB allows
		 * (firmware loaders use them): the source's pattern back, or
		 * any data taken. */
		if (type == 0xc0 && request == ZERO_REQUEST_PATTERN) {
			fill_pattern(data, length);
			*actual = length;
			return 0;
		}
		if (type == 0x40 && request == ZERO_REQUEST_SINK) {
			*actual = length;
			return 0;
		}
		if (type == 0xc0 && request == ZERO_REQUEST_SLOW) {
			memset(data, 0, length);
			*actual = length;
			return 0;
		}
		if (type == 0x40 && request == ZERO_REQUEST_BULK_BUSY)
			return 0;
	}
	if (sim->kind == SIM_AUDIO_LOOPBACK) {
		/* The endpoints' sampling frequency control (UAC1 5.2.3.2);
		 * one rate is all there is. */
		if (type == 0x22 && request == 0x01 && value == 0x0100) {
			if (length != 3)
				return -EPIPE;
			sim->rate = (uint32_t)(data[0] | data[1] << 8 |
					       data[2] << 16);
			*actual = 3;
			return 0;
		}
		if (type == 0xa2 && request == 0x81 && value == 0x0100) {
			answer[0] = (uint8_t)sim->rate;
			answer[1] = (uint8_t)(sim->rate >> 8);
			answer[2] = (uint8_t)(sim->rate >> 16);
			src = answer, n = 3;
		}
	}
	if (!src)
		return -EPIPE;
	n = n < length ? n : length;
	memcpy(data, src, n);
	*actual = n;
	return 0;
}

static void fifo_put(struct sim *sim, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (sim->fifo_len == AUDIO_FIFO_BYTES) {
			sim->fifo_head =
				(sim->fifo_head + 1) % AUDIO_FIFO_BYTES;
			sim->fifo_len--;
			sim->dropped++;
		}
		sim->fifo[(sim->fifo_head + sim->fifo_len) % AUDIO_FIFO_BYTES] =
			p[i];
		sim->fifo_len++;
	}
}

static size_t fifo_get(struct sim *sim, uint8_t *p, size_t max)
{
	size_t n = sim->fifo_len < max ? sim->fifo_len : max;

	n -= n % AUDIO_FRAME_BYTES; /* whole frames only */
	for (size_t i = 0; i < n; i++)
		p[i] = sim->fifo[(sim->fifo_head + i) % AUDIO_FIFO_BYTES];
	sim->fifo_head = (sim->fifo_head + n) % AUDIO_FIFO_BYTES;
	sim->fifo_len -= n;
	return n;
}

/* Iso packets move at the bus's pace: one per frame, one URB after the
 * other on each endpoint. */
static uint64_t iso_due(uint64_t *clock, uint64_t now, int packets)
{
	uint64_t start = *clock > now ? *clock : now;

	*clock = start + (uint64_t)packets * NS_PER_MS;
	return *clock;
}

/* Called when the transfer's time has come: data moves now. */
static void complete(struct sim *sim, const struct pending *p)
{
	struct libusb_transfer *x = p->x;

	x->status = LIBUSB_TRANSFER_COMPLETED;
	x->actual_length = 0;
	if (p->cancelled) {
		x->status = LIBUSB_TRANSFER_CANCELLED;
		for (int i = 0; i < x->num_iso_packets; i++) {
			x->iso_packet_desc[i].actual_length = 0;
			x->iso_packet_desc[i].status =
				LIBUSB_TRANSFER_CANCELLED;
		}
	} else if (x->type == LIBUSB_TRANSFER_TYPE_CONTROL) {
		size_t actual = 0;
		if (control(sim, x->buffer, x->buffer + 8, &actual) < 0)
			x->status = LIBUSB_TRANSFER_STALL;
		x->actual_length = (int)actual;
	} else if (x->type == LIBUSB_TRANSFER_TYPE_INTERRUPT) {
		memcpy(x->buffer, sim->reports[p->report], KEYBOARD_REPORT_LEN);
		x->actual_length = KEYBOARD_REPORT_LEN;
	} else if (x->type == LIBUSB_TRANSFER_TYPE_BULK) {
		if (x->endpoint & 0x80)
			fill_pattern(x->buffer, (size_t)x->length);
		x->actual_length = x->length;
	} else {
		uint8_t *at = x->buffer;
		for (int i = 0; i < x->num_iso_packets; i++) {
			struct libusb_iso_packet_descriptor *pd =
				&x->iso_packet_desc[i];
			if (x->endpoint & 0x80) {
				pd->actual_length =
					(unsigned)fifo_get(sim, at, pd->length);
			} else {
				fifo_put(sim, at, pd->length);
				pd->actual_length = pd->length;
			}
			pd->status = LIBUSB_TRANSFER_COMPLETED;
			at += pd->length;
		}
	}
	x->callback(x);
}

static int sim_submit(struct worker_device *d, struct libusb_transfer *x)
{
	struct sim *sim = sim_of(d);
	struct pending *p = calloc(1, sizeof(*p));
	uint64_t now = now_ns();

	if (!p)
		return -ENOMEM;
	p->x = x;
	p->due_ns = now;
	switch (x->type) {
	case LIBUSB_TRANSFER_TYPE_INTERRUPT:
		/* The validator let only the keyboard's endpoint through. A
		 * report too short for the boot format is an overflow. */
		if (x->length < KEYBOARD_REPORT_LEN) {
			free(p);
			return -EINVAL;
		}
		if (sim->next_report >= sim->num_reports) {
			p->due_ns = NEVER; /* nothing more to type */
			break;
		}
		p->due_ns =
			sim->next_report_ns > now ? sim->next_report_ns : now;
		sim->next_report_ns =
			p->due_ns + KEYBOARD_INTERVAL_MS * NS_PER_MS;
		/* Taken now, so that two pending reads carry two reports
		 * in order even if the first is unlinked. */
		p->report = sim->next_report++;
		break;
	case LIBUSB_TRANSFER_TYPE_ISOCHRONOUS:
		p->due_ns = iso_due(x->endpoint & 0x80 ? &sim->in_clock_ns
						       : &sim->out_clock_ns,
				    now, x->num_iso_packets);
		break;
	case LIBUSB_TRANSFER_TYPE_CONTROL: {
		const uint8_t *setup = x->buffer;
		uint64_t delay_ms = (uint64_t)(setup[2] | setup[3] << 8);
		if (delay_ms > ZERO_DELAY_MAX_MS)
			delay_ms = ZERO_DELAY_MAX_MS;
		if (sim->kind == SIM_ZERO && setup[0] == 0xc0 &&
		    setup[1] == ZERO_REQUEST_SLOW)
			p->due_ns = now + delay_ms * NS_PER_MS;
		/* Taken at submission: the bulk reads that follow it in the
		 * same batch are already late. */
		if (sim->kind == SIM_ZERO && setup[0] == 0x40 &&
		    setup[1] == ZERO_REQUEST_BULK_BUSY)
			sim->bulk_in_ns = now + delay_ms * NS_PER_MS;
		if (p->due_ns < sim->control_clock_ns)
			p->due_ns = sim->control_clock_ns;
		sim->control_clock_ns = p->due_ns;
		break;
	}
	case LIBUSB_TRANSFER_TYPE_BULK:
		/* The source refuses a zero-length read at submission: a
		 * stand-in for usbfs refusing a URB (its memory quota). */
		if ((x->endpoint & 0x80) && x->length == 0) {
			free(p);
			return -EINVAL;
		}
		if ((x->endpoint & 0x80) && sim->bulk_in_ns > now)
			p->due_ns = sim->bulk_in_ns;
		break;
	default:
		break;
	}
	enqueue(sim, p);
	return 0;
}

static int sim_cancel(struct worker_device *d, struct libusb_transfer *x)
{
	struct sim *sim = sim_of(d);

	for (struct pending **at = &sim->queue; *at; at = &(*at)->next) {
		struct pending *p = *at;
		if (p->x != x)
			continue;
		/* Its time has come: done on the device, waiting to be
		 * reaped, as a URB that DISCARDURB no longer reaches. */
		if (p->due_ns <= now_ns())
			return 0;
		*at = p->next;
		p->cancelled = true;
		p->due_ns = 0;
		enqueue(sim, p);
		return 0;
	}
	return -ENOENT;
}

static size_t sim_pollfds(struct worker_device *d, struct pollfd *pfd,
			  size_t max)
{
	(void)d, (void)pfd, (void)max;
	return 0; /* only time wakes a simulated device */
}

static int sim_timeout_ms(struct worker_device *d)
{
	struct sim *sim = sim_of(d);
	uint64_t now;

	if (!sim->queue || sim->queue->due_ns == NEVER)
		return -1;
	now = now_ns();
	if (sim->queue->due_ns <= now)
		return 0;
	return (int)((sim->queue->due_ns - now + NS_PER_MS - 1) / NS_PER_MS);
}

static void sim_handle_events(struct worker_device *d)
{
	struct sim *sim = sim_of(d);
	uint64_t now = now_ns();

	/* Completions may submit nothing (the session does that from the
	 * socket), so the queue only shrinks here. */
	while (sim->queue && sim->queue->due_ns <= now) {
		struct pending *p = sim->queue;
		sim->queue = p->next;
		complete(sim, p);
		free(p);
	}
}

static int sim_claim(struct worker_device *d)
{
	const struct usb_config_model *c =
		usb_model_config(&d->model, d->configuration);

	d->claimed = c ? (1u << c->num_interfaces) - 1 : 0;
	return 0;
}

static void sim_release(struct worker_device *d)
{
	d->claimed = 0;
}

static int sim_set_configuration(struct worker_device *d, uint8_t value)
{
	if (value && !usb_model_config(&d->model, value))
		return -EINVAL;
	d->configuration = value;
	memset(sim_of(d)->alt, 0, sizeof(sim_of(d)->alt));
	worker_device_describe_interfaces(d);
	return sim_claim(d);
}

static int sim_set_interface(struct worker_device *d, uint8_t interface,
			     uint8_t alternate)
{
	const struct usb_config_model *c =
		usb_model_config(&d->model, d->configuration);

	if (!c || !usb_config_altsetting(c, interface, alternate) ||
	    interface >= sizeof(sim_of(d)->alt))
		return -EINVAL;
	sim_of(d)->alt[interface] = alternate;
	return 0;
}

static int sim_clear_halt(struct worker_device *d, uint8_t endpoint)
{
	(void)d, (void)endpoint;
	return 0; /* nothing ever halts */
}

static int sim_reset(struct worker_device *d)
{
	struct sim *sim = sim_of(d);

	memset(sim->alt, 0, sizeof(sim->alt));
	sim->in_clock_ns = sim->out_clock_ns = 0;
	sim->control_clock_ns = sim->bulk_in_ns = 0;
	return 0;
}

static void sim_close(struct worker_device *d)
{
	struct sim *sim = sim_of(d);

	if (!sim)
		return;
	while (sim->queue) {
		struct pending *p = sim->queue;
		sim->queue = p->next;
		free(p);
	}
	free(sim->reports);
	free(sim->fifo);
	free(sim);
	d->sim = NULL;
}

static const struct worker_device_ops sim_ops = {
	.submit = sim_submit,
	.cancel = sim_cancel,
	.pollfds = sim_pollfds,
	.timeout_ms = sim_timeout_ms,
	.handle_events = sim_handle_events,
	.claim = sim_claim,
	.release = sim_release,
	.set_configuration = sim_set_configuration,
	.set_interface = sim_set_interface,
	.clear_halt = sim_clear_halt,
	.reset = sim_reset,
	.close = sim_close,
};

int sim_device_open(struct worker_device *d, const char *spec,
		    const char *busid, uint32_t busnum, char *msg,
		    size_t msg_len)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	uint32_t speed = USBIP_SPEED_FULL, devnum = 1;
	int r = 0;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	if (!sim)
		return log_fail(-ENOMEM, msg, msg_len,
				"no memory for a simulated device");
	d->ops = &sim_ops;
	d->sim = sim;
	if (strcmp(spec, "keyboard") == 0 ||
	    strncmp(spec, "keyboard:", 9) == 0) {
		sim->kind = SIM_KEYBOARD;
		sim->product = "Simulated keyboard";
		sim->descriptors = keyboard_descriptors;
		sim->descriptors_len = sizeof(keyboard_descriptors);
		sim->protocol = 1; /* report protocol until told otherwise */
		r = keyboard_script(sim, spec[8] ? spec + 9 : "", msg, msg_len);
		devnum = 1;
	} else if (strcmp(spec, "audio-loopback") == 0) {
		sim->kind = SIM_AUDIO_LOOPBACK;
		sim->product = "Simulated audio loopback";
		sim->descriptors = audio_descriptors;
		sim->descriptors_len = sizeof(audio_descriptors);
		sim->rate = AUDIO_RATE;
		sim->fifo = malloc(AUDIO_FIFO_BYTES);
		if (!sim->fifo)
			r = log_fail(-ENOMEM, msg, msg_len,
				     "no memory for the audio loopback");
		devnum = 2;
	} else if (strcmp(spec, "zero") == 0) {
		sim->kind = SIM_ZERO;
		sim->product = "Simulated source and sink";
		sim->descriptors = zero_descriptors;
		sim->descriptors_len = sizeof(zero_descriptors);
		speed = USBIP_SPEED_HIGH;
		devnum = 3;
	} else {
		r = log_fail(-EINVAL, msg, msg_len,
			     "unknown simulated device '%s' (keyboard[:TEXT], "
			     "audio-loopback, zero)",
			     spec);
	}
	if (r == 0) {
		/* Configured, as the host's hub driver leaves a real one. */
		d->configuration = 1;
		r = worker_device_describe(d, sim->descriptors,
					   sim->descriptors_len, busid, busnum,
					   devnum, speed, msg, msg_len);
	}
	if (r < 0)
		worker_device_close(d);
	return r;
}
