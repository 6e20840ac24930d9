/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The broker-worker channel: a SOCK_SEQPACKET socketpair carrying fixed,
 * typed, length-checked request/answer pairs, in the manner of OpenSSH's
 * monitor. File descriptors travel only here and only on the one message
 * type that carries a device. The broker parses no USB/IP byte; this is
 * all it hears from a worker, and everything it hears is checked: type
 * known, length exact, direction right, no fd where none belongs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define IPC_MAX_DEVICES 16

enum ipc_type {
	/* worker -> broker */
	IPC_DEVLIST_REQUEST = 1, /* no payload */
	IPC_OPEN_REQUEST = 2,	 /* struct ipc_open_request */
	/* 3 was a device reset request that nothing sent: unknown now. */
	IPC_STATS = 4, /* struct ipc_stats, no answer */
	/* TLS sessions only (docs/tls.md): the one signature of the
	 * server's handshake, and then the key the peer showed. */
	IPC_SIGN_REQUEST = 5, /* struct ipc_sign_request */
	IPC_TLS_PEER = 6,     /* struct ipc_tls_peer, no answer */
	/* broker -> worker */
	IPC_DEVLIST_ANSWER = 0x81, /* struct ipc_devlist_answer */
	IPC_OPEN_ANSWER = 0x82,	   /* struct ipc_open_answer + the usbfs fd */
	/* Export flow, granted, being unexported: no payload, a stream
	 * socket to the importer's listener on which the worker sends
	 * OP_REQ_UNEXPORT before its link is cut (SIGTERM follows). */
	IPC_UNEXPORT = 0x83,
	IPC_SIGN_ANSWER = 0x84, /* struct ipc_sign_answer */
	/* To a spare worker (started and sandboxed before any client):
	 * its session's client, a stream socket, and the peer's address
	 * for its log. The one message a spare waits for. */
	IPC_CLIENT = 0x85, /* struct ipc_client + the client socket */
};

/* A TLS 1.3 CertificateVerify content is 64 + 34 + 48 = 146 bytes at
 * most (SHA-384); room for a little more so that the broker, not the
 * channel, is what refuses a wrong one, by saying why. */
#define IPC_SIGN_TBS_MAX 160
#define IPC_SIGNATURE_MAX 64 /* Ed25519 */
#define IPC_TLS_PARAMS_MAX 128
/* A handshake's transcript (common/tls_transcript.h: TLS_TRANSCRIPT_MAX;
 * ours take under 1 KiB). */
#define IPC_TLS_TRANSCRIPT_MAX 16384
#define IPC_PEER_MAX 128

struct ipc_open_request {
	char busid[USBIP_BUSID_LEN]; /* NUL-terminated */
};

struct ipc_devlist_answer {
	uint32_t count; /* <= IPC_MAX_DEVICES */
	struct usbip_devlist_entry devices[IPC_MAX_DEVICES];
};

struct ipc_open_answer {
	int32_t status; /* 0: the fd comes with it; else a negative errno */
	struct usbip_devlist_entry device;
};

struct ipc_stats {
	uint64_t urbs;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t errors;
};

struct ipc_sign_request {
	uint32_t length; /* <= IPC_SIGN_TBS_MAX */
	uint8_t tbs[IPC_SIGN_TBS_MAX];
};

struct ipc_sign_answer {
	int32_t status;	 /* 0, or the negative errno of the refusal */
	uint32_t length; /* <= IPC_SIGNATURE_MAX */
	uint8_t signature[IPC_SIGNATURE_MAX];
};

/* After the handshake: the SHA-256 of the peer's public key, for the
 * log what was negotiated, and the handshake's transcript, which the
 * broker has checked (its verifier process) before it believes the pin
 * and judges it against the policy. */
struct ipc_tls_peer {
	uint8_t pin[32];
	char params[IPC_TLS_PARAMS_MAX]; /* NUL-terminated */
	uint32_t transcript_len;	 /* <= IPC_TLS_TRANSCRIPT_MAX */
	uint8_t transcript[IPC_TLS_TRANSCRIPT_MAX];
};

struct ipc_client {
	char peer[IPC_PEER_MAX]; /* NUL-terminated */
};

struct ipc_message {
	uint32_t type;
	uint32_t length; /* of the payload */
	union {
		struct ipc_open_request open_request;
		struct ipc_devlist_answer devlist;
		struct ipc_open_answer open_answer;
		struct ipc_stats stats;
		struct ipc_sign_request sign_request;
		struct ipc_sign_answer sign_answer;
		struct ipc_tls_peer tls_peer;
		struct ipc_client client;
	} u;
};

/* Which side is reading: each only accepts what the other may send. */
enum ipc_side {
	IPC_BROKER_SIDE, /* reads worker -> broker messages */
	IPC_WORKER_SIDE, /* reads broker -> worker messages */
};

/* One datagram of len bytes, with fd (SCM_RIGHTS) when fd >= 0: the
 * transport under ipc_send, for the broker's other channels too. */
int ipc_send_datagram(int sock, const void *data, size_t len, int fd);

/* Sends one message; fd >= 0 only with IPC_OPEN_ANSWER of status 0 and
 * with IPC_UNEXPORT and IPC_CLIENT (which must have one). */
int ipc_send(int sock, uint32_t type, const void *payload, uint32_t length,
	     int fd);

/*
 * Receives one message. On success *fd is the received descriptor (an
 * open character device with IPC_OPEN_ANSWER, a socket with
 * IPC_UNEXPORT and IPC_CLIENT; O_CLOEXEC) or -1. Any breach closes whatever
 * arrived and returns -EBADMSG (shape), -EPROTO (wrong type or side) or
 * -ECONNRESET (peer gone); msg says which in words.
 */
int ipc_recv(int sock, enum ipc_side side, struct ipc_message *m, int *fd,
	     char *msg, unsigned long msg_len);

/* The payload size a type must have, or -1 for an unknown type. */
long ipc_payload_size(uint32_t type);
