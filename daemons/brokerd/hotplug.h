/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Auto export, hotplug and policy reload (hotplug.c). Layer: above
 * devices, below ctl and the loop.
 */
#pragma once

#include <stddef.h>

/* The kernel's uevents, watched by the loop; without them, a warning. */
void hotplug_open(void);

/* One uevent. */
void udev_event(void);

/* Exports what the policy marks auto among the present devices. */
void auto_export_present(void);
/* What was plugged in or bound while it was being given back, judged now
 * that its give-back child is gone (devices.h give_back_note_added). */
void hotplug_after_give_back(void);

/* The new policy or the old one: never none. 0 or a negative errno;
 * msg says which. */
int reload_policy(char *msg, size_t msg_len);
