// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Benchmark tool: per-URB latency of one USB device, one synchronous
 * transfer in flight, through usbfs on the importing side (the device a
 * USB/IP server exports, as vhci_hcd shows it). Made for a configfs
 * SourceSink gadget (bench/latency.sh): its first interface has a bulk
 * IN source and a bulk OUT sink.
 *
 *   usb-latency /dev/bus/usb/BBB/DDD COUNT [LEN]
 *
 * Runs COUNT of each, in this order, and prints one line per kind,
 * "KIND median-us mean-us p90-us", then "syscall-ns N", what one trivial
 * syscall (getppid) costs here, for stating the floor, and "clock-ns N"
 * and "coarse-clock-ns N", what one clock_gettime of CLOCK_MONOTONIC and
 * of CLOCK_MONOTONIC_COARSE costs (a syscall and a clock read where the
 * clocksource has no vDSO path, as QEMU TCG's hpet):
 *
 *   bulk-out     LEN bytes (512) to the first bulk OUT endpoint
 *   bulk-in      LEN bytes from the first bulk IN endpoint
 *   get-desc     GET_DESCRIPTOR(DEVICE), 18 bytes, on ep0
 *   get-status   GET_STATUS(DEVICE), 2 bytes, on ep0
 *
 * Each transfer is one USBDEVFS_BULK or USBDEVFS_CONTROL ioctl, timed on
 * CLOCK_MONOTONIC around it. Exit status 0 when every transfer moved its
 * full length, 1 otherwise, 2 for usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/usb/ch9.h>
#include <linux/usbdevice_fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 5000
#define MAX_LEN 65536

static int dev;
static unsigned ep_in, ep_out;

static void fail(const char *what)
{
	fprintf(stderr, "usb-latency: FAIL: %s (%s)\n", what, strerror(errno));
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The first bulk IN and OUT endpoints of the first interface, from the
 * descriptors usbfs gives on read (device, then configurations). */
static void find_endpoints(void)
{
	uint8_t d[4096];
	ssize_t n = read(dev, d, sizeof(d));
	size_t i = 0;
	int iface = -1;

	if (n < 18)
		fail("reading the descriptors");
	while (i + 2 <= (size_t)n && d[i] >= 2 && i + d[i] <= (size_t)n) {
		if (d[i + 1] == USB_DT_INTERFACE && d[i] >= 9) {
			if (iface >= 0 && d[i + 2] != iface)
				break;
			iface = d[i + 2];
		}
		if (d[i + 1] == USB_DT_ENDPOINT && d[i] >= 7 && iface == 0 &&
		    (d[i + 3] & 3) == USB_ENDPOINT_XFER_BULK) {
			if ((d[i + 2] & USB_DIR_IN) && !ep_in)
				ep_in = d[i + 2];
			if (!(d[i + 2] & USB_DIR_IN) && !ep_out)
				ep_out = d[i + 2];
		}
		i += d[i];
	}
	if (!ep_in || !ep_out)
		fail("no bulk IN and OUT endpoints on interface 0");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *kind, double *t, unsigned count)
{
	double sum = 0;

	for (unsigned i = 0; i < count; i++)
		sum += t[i];
	qsort(t, count, sizeof(*t), cmp_double);
	printf("%s %.1f %.1f %.1f\n", kind, t[count / 2], sum / count,
	       t[count * 9 / 10]);
}

static void bulk(unsigned ep, uint8_t *buf, unsigned len)
{
	struct usbdevfs_bulktransfer b = {
		.ep = ep, .len = len, .timeout = TIMEOUT_MS, .data = buf};
	int r = ioctl(dev, USBDEVFS_BULK, &b);
	if (r != (int)len)
		fail(ep & USB_DIR_IN ? "bulk IN" : "bulk OUT");
}

static void control(uint8_t type, uint8_t request, uint16_t value, uint8_t *buf,
		    uint16_t len)
{
	struct usbdevfs_ctrltransfer c = {.bRequestType = type,
					  .bRequest = request,
					  .wValue = value,
					  .wIndex = 0,
					  .wLength = len,
					  .timeout = TIMEOUT_MS,
					  .data = buf};
	int r = ioctl(dev, USBDEVFS_CONTROL, &c);
	if (r != len)
		fail("control transfer");
}

int main(int argc, char **argv)
{
	static uint8_t buf[MAX_LEN];
	unsigned count, len = 512, iface = 0;
	double *t;

	if (argc < 3 || argc > 4 || (count = (unsigned)atoi(argv[2])) == 0 ||
	    (argc == 4 &&
	     ((len = (unsigned)atoi(argv[3])) == 0 || len > MAX_LEN))) {
		fprintf(stderr, "usage: %s /dev/bus/usb/BBB/DDD COUNT [LEN]\n",
			argv[0]);
		return 2;
	}
	dev = open(argv[1], O_RDWR | O_CLOEXEC);
	if (dev < 0)
		fail(argv[1]);
	find_endpoints();
	if (ioctl(dev, USBDEVFS_CLAIMINTERFACE, &iface) < 0)
		fail("claiming interface 0");
	t = calloc(count, sizeof(*t));
	if (!t)
		fail("memory");
	memset(buf, 0x5a, len);

	/* One of each first, untimed: the endpoints' first use. */
	bulk(ep_out, buf, len);
	bulk(ep_in, buf, len);
	for (unsigned i = 0; i < count; i++) {
		double t0 = now_us();
		bulk(ep_out, buf, len);
		t[i] = now_us() - t0;
	}
	report("bulk-out", t, count);
	for (unsigned i = 0; i < count; i++) {
		double t0 = now_us();
		bulk(ep_in, buf, len);
		t[i] = now_us() - t0;
	}
	report("bulk-in", t, count);
	for (unsigned i = 0; i < count; i++) {
		double t0 = now_us();
		control(USB_DIR_IN, USB_REQ_GET_DESCRIPTOR, USB_DT_DEVICE << 8,
			buf, 18);
		t[i] = now_us() - t0;
	}
	report("get-desc", t, count);
	for (unsigned i = 0; i < count; i++) {
		double t0 = now_us();
		control(USB_DIR_IN, USB_REQ_GET_STATUS, 0, buf, 2);
		t[i] = now_us() - t0;
	}
	report("get-status", t, count);

	/* What one syscall's entry and exit cost on this machine. */
	enum { N = 100000 };
	double t0 = now_us();
	for (unsigned i = 0; i < N; i++)
		syscall(SYS_getppid);
	printf("syscall-ns %.0f\n", (now_us() - t0) * 1e3 / N);
	enum { NCLOCK = 20000 };
	struct timespec ts;
	t0 = now_us();
	for (unsigned i = 0; i < NCLOCK; i++)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("clock-ns %.0f\n", (now_us() - t0) * 1e3 / NCLOCK);
	t0 = now_us();
	for (unsigned i = 0; i < NCLOCK; i++)
		clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	printf("coarse-clock-ns %.0f\n", (now_us() - t0) * 1e3 / NCLOCK);
	free(t);
	ioctl(dev, USBDEVFS_RELEASEINTERFACE, &iface);
	close(dev);
	return 0;
}
