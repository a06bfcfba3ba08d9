// SPDX-License-Identifier: GPL-2.0
/*
 * The sysfs attribute "filter" of every disk and partition.
 *
 * In the kernel tree the attribute is one of those that every disk and
 * partition is created with.  A module cannot add to those, so it puts the
 * file on each device itself, through a class interface on the class of
 * block devices: the driver core calls its add_dev for every device of the
 * class when it registers and for every device added later, and its
 * remove_dev for every device deleted and for all of them when it
 * unregisters.  It makes these calls with the class's mutex held, the one
 * under which device_add() and device_del() put the device on the class's
 * list and take it off: each device gets the file once and loses it once,
 * whatever the order of devices coming and going and of the module's load
 * and unload.  When class_interface_unregister() returns, no callback runs
 * any more and no file is left; the removal of a file waits for the reads
 * of it that have begun (filter_show() in core.c).
 *
 * Out of tree only (kernel/intree/mkseries.sh leaves this file out).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/printk.h>

#include "blkfilter.h"
#include "compat.h"

/*
 * A device that cannot have the file works on without it: nothing to undo,
 * nothing to fail.  The driver core ignores what this returns.
 */
static int bf_sysfs_add_dev(COMPAT_CLASS_INTF_PARAMS)
{
	int ret = device_create_file(dev, &blkfilter_attr_filter);

	if (ret)
		pr_warn_ratelimited("no filter attribute for %s: %d\n",
				    dev_name(dev), ret);
	return ret;
}

/* Where the file could not be made, there is nothing to remove: a no-op. */
static void bf_sysfs_remove_dev(COMPAT_CLASS_INTF_PARAMS)
{
	device_remove_file(dev, &blkfilter_attr_filter);
}

/*
 * Set once at load, before the interface registers and before the hooks
 * are put in place (hook.c picks the disks and partitions out of the
 * devices that device_del() is called for), and never changed.
 */
typeof_member(struct device, class) bf_block_class;

/*
 * Its class is set before it registers; its list entry is the class's,
 * under the class's mutex.
 */
static struct class_interface bf_sysfs_intf = {
	.add_dev = bf_sysfs_add_dev,
	.remove_dev = bf_sysfs_remove_dev,
};

/**
 * bf_sysfs_init() - put the filter attribute on every disk and partition
 *
 * On those there are now and on those added until bf_sysfs_exit().  The
 * class of block devices, which the kernel does not export, is taken from
 * a gendisk that is allocated and freed again without being added: it is
 * the kernel's static block_class, registered at boot and never
 * unregistered; bf_block_class keeps it for the hooks.  A device whose
 * file cannot be made goes without it.
 *
 * Context: module init; may sleep.
 * Return: 0 or a negative errno; nothing is left behind on failure.
 */
int bf_sysfs_init(void)
{
	struct gendisk *disk;

	disk = blk_alloc_disk(NULL, NUMA_NO_NODE);
	if (IS_ERR(disk))
		return PTR_ERR(disk);
	bf_block_class = disk_to_dev(disk)->class;
	put_disk(disk);
	bf_sysfs_intf.class = bf_block_class;
	return class_interface_register(&bf_sysfs_intf);
}

/**
 * bf_sysfs_exit() - take the filter attribute off every device
 *
 * Returns with no file left, no read of one running, and no callback of
 * the class interface running or to come.
 *
 * Context: module exit, or init after bf_sysfs_init(); may sleep.
 */
void bf_sysfs_exit(void)
{
	class_interface_unregister(&bf_sysfs_intf);
}
