// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap(8): tables and JSON through libsmartcols, as util-linux's tools
 * print theirs.  Every report is one table: as text, a column per field
 * with a header line (--noheadings leaves it out, --raw separates the
 * columns by one blank); as JSON, an object with one member, the table's
 * name, an array of one object per row, the columns' names as keys.
 * A cell left unset is null in JSON (false in a boolean column); a
 * boolean is "yes" or "no" as text.  An array column with no element is
 * [null], not [], with libsmartcols 2.38 (Debian 12): snapshot-create's
 * devices when none is given.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "blksnap-tool.h"

/* Column names are given as their JSON keys; as headers they are upper
 * case (libsmartcols lower-cases them again for JSON, as lsblk's). */
static const char *upper(const char *name, char *buf, size_t len)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < len; i++)
		buf[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
	buf[i] = '\0';
	return buf;
}

/* The first error met building the table, reported by out_print(). */
static void out_err(struct out *o, int err)
{
	if (err < 0 && !o->err)
		o->err = err;
}

int out_new(struct out *o, const char *name, const struct out_col *cols,
	    size_t ncols, unsigned int flags)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	o->cols = cols;
	o->ncols = ncols;
	o->tb = scols_new_table();
	if (!o->tb)
		return -ENOMEM;
	out_err(o, scols_table_set_name(o->tb, name));
	out_err(o, scols_table_enable_json(o->tb, !!(flags & OUT_JSON)));
	out_err(o, scols_table_enable_noheadings(o->tb, !!(flags & OUT_NOHEADINGS)));
	out_err(o, scols_table_enable_raw(o->tb, !!(flags & OUT_RAW)));
	for (i = 0; i < ncols && !o->err; i++) {
		struct libscols_column *cl;

		unsigned int fl = cols[i].flags;
		char name[64];

		if (cols[i].json == SCOLS_JSON_ARRAY_STRING ||
		    cols[i].json == SCOLS_JSON_ARRAY_NUMBER)
			fl |= SCOLS_FL_WRAP;
		cl = scols_table_new_column(o->tb, upper(cols[i].name, name, sizeof(name)),
					    0, (int)fl);
		if (!cl) {
			out_err(o, -ENOMEM);
			break;
		}
		out_err(o, scols_column_set_json_type(cl, cols[i].json));
		if (cols[i].json == SCOLS_JSON_ARRAY_STRING ||
		    cols[i].json == SCOLS_JSON_ARRAY_NUMBER)
			/* One element a line of the cell. */
			out_err(o, scols_column_set_wrapfunc(cl, scols_wrapnl_chunksize,
							     scols_wrapnl_nextchunk, NULL));
	}
	if (o->err) {
		int err = o->err;

		scols_unref_table(o->tb);
		o->tb = NULL;
		return err;
	}
	return 0;
}

void out_row(struct out *o)
{
	o->ln = scols_table_new_line(o->tb, NULL);
	if (!o->ln)
		out_err(o, -ENOMEM);
}

/* A report of one row, as JSON: the table made and its row begun.
 * Returns as out_new(). */
int out_json_row(struct out *o, const char *name, const struct out_col *cols,
		 size_t ncols)
{
	int ret = out_new(o, name, cols, ncols, OUT_JSON);

	if (ret == 0)
		out_row(o);
	return ret;
}

void out_str(struct out *o, const char *col, const char *val)
{
	struct libscols_column *cl = NULL;
	size_t n;

	if (!o->ln || !val)
		return;
	for (n = 0; n < o->ncols; n++) {
		if (strcmp(o->cols[n].name, col) == 0) {
			cl = scols_table_get_column(o->tb, n);
			break;
		}
	}
	if (!cl) {	/* a column the code forgot: a bug, said loudly */
		errmsg(NULL, 0, "internal error: no output column '%s'", col);
		abort();
	}
	/* A cell of an array column holds its elements a line each. */
	n = strlen(val);
	if (n && scols_column_get_json_type(cl) == SCOLS_JSON_ARRAY_STRING) {
		struct libscols_cell *ce = scols_line_get_column_cell(o->ln, cl);
		const char *old = ce ? scols_cell_get_data(ce) : NULL;
		char *s;

		if (old && *old) {
			if (asprintf(&s, "%s\n%s", old, val) < 0) {
				out_err(o, -ENOMEM);
				return;
			}
			out_err(o, scols_line_refer_column_data(o->ln, cl, s));
			return;
		}
	}
	out_err(o, scols_line_set_column_data(o->ln, cl, val));
}

void out_u64(struct out *o, const char *col, uint64_t val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, val);
	out_str(o, col, buf);
}

void out_i64(struct out *o, const char *col, int64_t val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, val);
	out_str(o, col, buf);
}

void out_bool(struct out *o, const char *col, bool val)
{
	/* libsmartcols' JSON: "", "0" or "n..." false, anything else true. */
	out_str(o, col, val ? "yes" : "no");
}

void out_double(struct out *o, const char *col, double val)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.3f", val);
	out_str(o, col, buf);
}

int out_print(struct out *o)
{
	int ret = o->err;

	if (!ret && o->tb)
		ret = scols_print_table(o->tb);
	if (!ret && fflush(stdout) == EOF)
		ret = -errno;
	scols_unref_table(o->tb);
	o->tb = NULL;
	o->ln = NULL;
	if (ret < 0)
		errmsg(NULL, ret, "cannot write the output");
	return ret;
}
