// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the broker does on its own: it exports what the policy marks
 * auto, at start, on hotplug and on a reload, and judges every exported
 * device again when it is configured or the policy changes.
 */
#include <dirent.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "devices.h"
#include "hotplug.h"
#include "log.h"
#include "usb_sysfs.h"

/* Exports what the policy marks auto, if it is not exported yet. */
static void auto_export(const char *busid)
{
	struct usbdev_info info;
	char msg[256];

	/* Not while stopping (a hotplug add, a reload, a give-back's end):
	 * taken now, it would be given back again at the stop's end. */
	if (b.draining || !usb_busid_valid(busid) || find_exported(busid) ||
	    usbdev_is_imported(busid) ||
	    usbdev_read_info(busid, &info, msg, sizeof(msg)) < 0)
		return;
	const struct policy_rule *rule = rule_for(&info);
	if (!policy_allows(rule) || !rule->autoexport)
		return;
	if (export_device(busid, rule->num_to ? rule->to[0] : NULL, msg,
			  sizeof(msg)) < 0)
		log_line("auto export %s (%s:%u): %s", busid, b.policy_path,
			 rule->line, msg);
}

void hotplug_after_give_back(void)
{
	char busid[USBDEV_BUSID_LEN];

	/* auto_export skips them while stopping. */
	while (give_back_next_added(busid, sizeof(busid)))
		auto_export(busid);
}

void auto_export_present(void)
{
	struct dirent **names;
	int n = scandir("/sys/bus/usb/devices", &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		auto_export(names[i]->d_name);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

/* The new policy or the old one: never none. Every exported device is
 * judged again: what the new policy denies is unexported and its live
 * session ends. */
int reload_policy(char *msg, size_t msg_len)
{
	int r = policy_load(b.policy_path, &b.policy, msg, msg_len);

	if (r < 0) {
		log_error("policy not reloaded, the old one stays: %s", msg);
		return r;
	}
	log_line("policy %s: %zu rules", b.policy_path, b.policy.num_rules);
	snprintf(msg, msg_len, "%zu rules", b.policy.num_rules);
	for (size_t i = 0; i < MAX_EXPORTED; i++)
		if (b.devices[i].used && !b.devices[i].leaving)
			reevaluate(&b.devices[i], "reload");
	auto_export_present();
	return 0;
}

void udev_event(void)
{
	struct udev_device *dev = udev_monitor_receive_device(b.monitor);
	const char *action, *name, *devtype;

	if (!dev)
		return;
	action = udev_device_get_action(dev);
	name = udev_device_get_sysname(dev);
	devtype = udev_device_get_devtype(dev);
	if (!action || !name || !devtype) {
		udev_device_unref(dev);
		return;
	}
	if (!strcmp(devtype, "usb_interface")) {
		/* An interface added: its device has a configuration now,
		 * its first, or another one its importer chose. */
		char busid[USBDEV_BUSID_LEN];
		snprintf(busid, sizeof(busid), "%.*s", (int)strcspn(name, ":"),
			 name);
		struct exported *d = find_exported(busid);
		if (d && !strcmp(action, "add"))
			reevaluate(d, "configured");
	} else if (!strcmp(action, "remove")) {
		struct exported *d = find_exported(name);
		if (d)
			forget_device(d, false);
	} else if (!strcmp(action, "add") || !strcmp(action, "bind")) {
		/* bind: configured; a device judged before that is judged
		 * again on its interfaces. */
		struct exported *d = find_exported(name);
		if (d)
			reevaluate(d, "configured");
		else if (!give_back_note_added(name))
			auto_export(name);
	}
	udev_device_unref(dev);
}

void hotplug_open(void)
{
	b.udev = udev_new();
	/* As root, the kernel's own events, not udevd's: the broker reads
	 * sysfs itself and devtmpfs makes the node, so it needs nothing udev
	 * adds, and it works where no udevd runs (initramfs, minimal
	 * guests). Without root the node is only the broker's once udevd
	 * has run 70-usbip-export.rules: its events come after that. */
	b.monitor = b.udev ? udev_monitor_new_from_netlink(
				     b.udev, geteuid() ? "udev" : "kernel")
			   : NULL;
	if (b.monitor &&
	    udev_monitor_filter_add_match_subsystem_devtype(
		    b.monitor, "usb", "usb_device") == 0 &&
	    udev_monitor_filter_add_match_subsystem_devtype(
		    b.monitor, "usb", "usb_interface") == 0 &&
	    udev_monitor_enable_receiving(b.monitor) == 0 &&
	    broker_watch(udev_monitor_get_fd(b.monitor), TAG(TAG_UDEV, 0)) == 0)
		return;
	log_line("no udev monitor: unplugged devices end their "
		 "sessions only when the worker sees it");
}
