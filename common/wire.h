/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * USB/IP wire codec (protocol 1.1.1, every integer big-endian).
 *
 * Two families of messages share one socket: the op messages of the
 * handshake (DEVLIST, IMPORT, and the device-initiated EXPORT/UNEXPORT) and,
 * once a device is attached, the URB messages (CMD/RET SUBMIT and UNLINK).
 * Both decoders are incremental: they say where the next bytes go and how
 * many, so a caller on a non-blocking socket reads straight into them and
 * can stop after any byte. Nothing here does I/O.
 *
 * Decoding is strict: every length is exact, every count bounded, every
 * string NUL-terminated inside its field. A failure returns a negative errno
 * and, when the caller passes one, fills a struct usbip_fault naming the
 * field and the value that broke it, for a single precise log line.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USBIP_VERSION 0x0111

enum usbip_op_code {
	USBIP_OP_REQ_IMPORT = 0x8003,
	USBIP_OP_REP_IMPORT = 0x0003,
	USBIP_OP_REQ_DEVLIST = 0x8005,
	USBIP_OP_REP_DEVLIST = 0x0005,
	USBIP_OP_REQ_EXPORT = 0x8006,
	USBIP_OP_REP_EXPORT = 0x0006,
	USBIP_OP_REQ_UNEXPORT = 0x8007,
	USBIP_OP_REP_UNEXPORT = 0x0007,
};

/* Op status values as the upstream tools define them (usbip_common.h). */
enum usbip_op_status {
	USBIP_ST_OK = 0,
	USBIP_ST_NA = 1,
	USBIP_ST_DEV_BUSY = 2,
	USBIP_ST_DEV_ERR = 3,
	USBIP_ST_NODEV = 4,
	USBIP_ST_ERROR = 5,
};

enum usbip_urb_command {
	USBIP_CMD_SUBMIT = 1,
	USBIP_CMD_UNLINK = 2,
	USBIP_RET_SUBMIT = 3,
	USBIP_RET_UNLINK = 4,
};

enum usbip_direction {
	USBIP_DIR_OUT = 0,
	USBIP_DIR_IN = 1,
};

/* The kernel's enum usb_device_speed, which is what the wire carries. */
enum usbip_speed {
	USBIP_SPEED_LOW = 1,
	USBIP_SPEED_FULL = 2,
	USBIP_SPEED_HIGH = 3,
	USBIP_SPEED_WIRELESS = 4,
	USBIP_SPEED_SUPER = 5,
	USBIP_SPEED_SUPER_PLUS = 6,
};

#define USBIP_OP_HEADER_LEN 8
#define USBIP_PATH_LEN 256
#define USBIP_BUSID_LEN 32
#define USBIP_DEVICE_LEN 312
#define USBIP_INTERFACE_LEN 4
#define USBIP_URB_HEADER_LEN 48
#define USBIP_ISO_DESC_LEN 16
/* Upper bound of usbip_common.h's USBIP_MAX_ISO_PACKETS in current kernels. */
#define USBIP_MAX_ISO_PACKETS 1024
/* The kernel's USB_MAXINTERFACES: no configuration can have more. */
#define USBIP_MAX_INTERFACES 32
/* A device list longer than this is refused rather than allocated. */
#define USBIP_MAX_DEVLIST 512
/* Non-iso number_of_packets: the docs say 0xffffffff, the kernel sends 0. */
#define USBIP_NO_ISO_PACKETS 0xffffffffu

/* What a decoder or the validator refused, for one log line. */
struct usbip_fault {
	const char *field;  /* wire field or descriptor field name */
	uint64_t value;	    /* the offending value */
	const char *reason; /* short, static, lower case */
};

/* Fills *fault when given and returns err, for one-line refusals. */
int usbip_fault_set(struct usbip_fault *fault, int err, const char *field,
		    uint64_t value, const char *reason);

struct usbip_op_header {
	uint16_t version;
	uint16_t code;
	uint32_t status;
};

struct usbip_device_info {
	char path[USBIP_PATH_LEN];
	char busid[USBIP_BUSID_LEN];
	uint32_t busnum;
	uint32_t devnum;
	uint32_t speed;
	uint16_t id_vendor;
	uint16_t id_product;
	uint16_t bcd_device;
	uint8_t device_class;
	uint8_t device_subclass;
	uint8_t device_protocol;
	uint8_t configuration_value;
	uint8_t num_configurations;
	uint8_t num_interfaces;
};

struct usbip_interface_info {
	uint8_t interface_class;
	uint8_t interface_subclass;
	uint8_t interface_protocol;
};

struct usbip_devlist_entry {
	struct usbip_device_info device;
	struct usbip_interface_info interfaces[USBIP_MAX_INTERFACES];
};

/*
 * One decoded op message. Which fields are set follows header.code:
 *   REQ_DEVLIST                 header only
 *   REP_DEVLIST                 num_devices, devices[] (only when status is 0)
 *   REQ_IMPORT                  busid
 *   REP_IMPORT                  device (only when status is 0)
 *   REQ_EXPORT, REQ_UNEXPORT    device
 *   REP_EXPORT, REP_UNEXPORT    returncode (the 4 bytes the export series
 *                               sends after the header; 0 or -1, which read
 *                               the same in either byte order)
 */
struct usbip_op_message {
	struct usbip_op_header header;
	char busid[USBIP_BUSID_LEN];
	struct usbip_device_info device;
	int32_t returncode;
	uint32_t num_devices;
	struct usbip_devlist_entry
		*devices; /* owned; usbip_op_message_clear() */
};

void usbip_op_message_clear(struct usbip_op_message *m);

/*
 * Incremental op decoder. usbip_op_reader_next() says where to put the next
 * bytes and how many are wanted at most; usbip_op_reader_advance() takes the
 * count actually read. It returns 1 with *out filled when a message is
 * complete (the reader is then ready for the next one), 0 when it needs
 * more, or a negative errno: -EPROTO for a bad version, -EBADMSG for a
 * malformed message, -EMSGSIZE for one past a limit, -ENOMEM.
 */
struct usbip_op_reader {
	uint8_t *buf;
	size_t have;
	size_t need;
	size_t cap;
};

void usbip_op_reader_init(struct usbip_op_reader *r);
void usbip_op_reader_clear(struct usbip_op_reader *r);
int usbip_op_reader_next(struct usbip_op_reader *r, uint8_t **dst, size_t *len);
int usbip_op_reader_advance(struct usbip_op_reader *r, size_t n,
			    struct usbip_op_message *out,
			    struct usbip_fault *fault);

/*
 * Total length of the op message that starts with these bytes, as far as
 * they tell: a value above `have` means "read up to there and ask again".
 */
int usbip_op_frame_length(const uint8_t *buf, size_t have, size_t *need,
			  struct usbip_fault *fault);

/* Decodes exactly one whole message of exactly `len` bytes. */
int usbip_op_decode(const uint8_t *buf, size_t len,
		    struct usbip_op_message *out, struct usbip_fault *fault);

/*
 * Encodes a message into buf. Returns its length, or -EMSGSIZE when cap is
 * too small, -EINVAL for a message that could not be decoded again (an
 * unterminated string, a count past a limit). With buf NULL it only
 * returns the length the message needs.
 */
long usbip_op_encode(const struct usbip_op_message *m, uint8_t *buf,
		     size_t cap);

struct usbip_urb_header {
	uint32_t command;
	uint32_t seqnum;
	uint32_t devid;
	uint32_t direction;
	uint32_t ep;
	union {
		struct {
			uint32_t transfer_flags;
			uint32_t transfer_buffer_length;
			int32_t start_frame;
			uint32_t number_of_packets;
			int32_t interval;
			uint8_t setup[8];
		} submit;
		struct {
			int32_t status;
			uint32_t actual_length;
			int32_t start_frame;
			uint32_t number_of_packets;
			int32_t error_count;
		} ret_submit;
		struct {
			uint32_t seqnum;
		} unlink;
		struct {
			int32_t status;
		} ret_unlink;
	} u;
};

struct usbip_iso_desc {
	uint32_t offset;
	uint32_t length;
	uint32_t actual_length;
	int32_t status;
};

void usbip_urb_header_pack(const struct usbip_urb_header *h,
			   uint8_t out[USBIP_URB_HEADER_LEN]);
/* Decodes the header; refuses only an unknown command (framing needs it). */
int usbip_urb_header_unpack(const uint8_t in[USBIP_URB_HEADER_LEN],
			    struct usbip_urb_header *h,
			    struct usbip_fault *fault);
void usbip_iso_desc_pack(const struct usbip_iso_desc *d,
			 uint8_t out[USBIP_ISO_DESC_LEN]);
void usbip_iso_desc_unpack(const uint8_t in[USBIP_ISO_DESC_LEN],
			   struct usbip_iso_desc *d);

/*
 * Number of iso descriptors a header announces: 0 for 0 and 0xffffffff,
 * the count for 1..USBIP_MAX_ISO_PACKETS, -EBADMSG for anything else.
 */
int usbip_iso_count(uint32_t number_of_packets, struct usbip_fault *fault);

/* Which side of the connection a URB reader is on. */
enum usbip_urb_role {
	/* Reads CMD_SUBMIT and CMD_UNLINK (the device side). */
	USBIP_ROLE_SERVER,
	/* Reads RET_SUBMIT and RET_UNLINK (the importing side). */
	USBIP_ROLE_CLIENT,
};

/*
 * A RET_SUBMIT carries no usable direction (the kernel stub sends 0), so the
 * client side answers from its own record: 1 for IN, 0 for OUT, negative
 * errno for a seqnum it never sent.
 */
typedef int (*usbip_ret_direction_fn)(void *opaque, uint32_t seqnum);

struct usbip_urb_frame {
	struct usbip_urb_header header;
	uint8_t *data; /* OUT data of a CMD_SUBMIT, IN data of a RET_SUBMIT */
	size_t data_len;
	struct usbip_iso_desc *iso; /* number_of_packets descriptors */
	size_t num_iso;
};

/*
 * Where a frame's payload (data and iso descriptors) is to go, asked once
 * its header is in: a buffer of at least len bytes, or NULL for the
 * reader's own. A placed buffer stays the caller's: the reader only reads
 * into it, and frame->data then points into it.
 */
typedef uint8_t *(*usbip_payload_place_fn)(void *ctx,
					   const struct usbip_urb_header *h,
					   size_t len);

struct usbip_urb_reader {
	enum usbip_urb_role role;
	size_t max_data; /* largest data stage accepted, bytes */
	usbip_ret_direction_fn ret_direction;
	void *opaque;
	usbip_payload_place_fn place;
	void *place_ctx;
	uint8_t *placed; /* the current frame's payload, when placed */

	uint8_t raw_header[USBIP_URB_HEADER_LEN];
	size_t have;	    /* bytes of the current frame so far */
	size_t payload_len; /* data + iso descriptors of the current frame */
	uint8_t *payload;
	size_t payload_cap;
	struct usbip_urb_frame frame;
	struct usbip_iso_desc iso[USBIP_MAX_ISO_PACKETS];
};

/* The default data limit: a bit above usbfs' 16 MiB global default quota. */
#define USBIP_DEFAULT_MAX_DATA (16u << 20)

void usbip_urb_reader_init(struct usbip_urb_reader *r, enum usbip_urb_role role,
			   size_t max_data,
			   usbip_ret_direction_fn ret_direction, void *opaque);
void usbip_urb_reader_clear(struct usbip_urb_reader *r);
/* Lets place() choose where payloads go (NULL: always the reader's own
 * buffer, the default). */
void usbip_urb_reader_set_place(struct usbip_urb_reader *r,
				usbip_payload_place_fn place, void *ctx);
void usbip_urb_reader_next(struct usbip_urb_reader *r, uint8_t **dst,
			   size_t *len);
/*
 * Same contract as usbip_op_reader_advance(). On 1, *frame points into the
 * reader and stays valid until the next call; frame->data may be taken over
 * with usbip_urb_reader_take_data().
 */
int usbip_urb_reader_advance(struct usbip_urb_reader *r, size_t n,
			     const struct usbip_urb_frame **frame,
			     struct usbip_fault *fault);
uint8_t *usbip_urb_reader_take_data(struct usbip_urb_reader *r);

/* Names for logs; never NULL. */
const char *usbip_op_code_name(uint16_t code);
const char *usbip_urb_command_name(uint32_t command);
