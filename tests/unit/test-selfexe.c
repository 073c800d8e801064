/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the selfexe segment list: the encode/decode round trip used
 * on the sync channel, malformed text refused, and prepare()'s view of this
 * test's own executable (a sealed copy, a segment holding its code).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "selfexe.h"
#include "tests.h"

static bool same_segments(const struct berth_selfexe *a, const struct berth_selfexe *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct berth_selfexe_segment *x = &a->seg[i], *y = &b->seg[i];
		if (x->start != y->start || x->end != y->end || x->offset != y->offset ||
		    x->prot != y->prot || x->written != y->written)
			return false;
	}
	return true;
}

static void test_round_trip(void)
{
	struct berth_selfexe x = { .fd = -1, .n = 3 };
	x.seg[0] = (struct berth_selfexe_segment){ 0x55550000, 0x55551000, 0, PROT_READ, false };
	x.seg[1] = (struct berth_selfexe_segment){ 0x55551000, 0x55560000, 0x1000,
						   PROT_READ | PROT_EXEC, false };
	x.seg[2] = (struct berth_selfexe_segment){ UINTPTR_MAX - 0x1fff, UINTPTR_MAX - 0xfff,
						   UINT64_C(0xfffffffffffff000),
						   PROT_READ | PROT_WRITE, true };
	char *t = selfexe_encode(&x);
	check(t);
	/* one line per segment, hex addresses */
	static const char head[] = "55550000 55551000 0 1 0\n55551000 55560000 1000 5 0\n";
	check(strncmp(t, head, strlen(head)) == 0);

	struct berth_selfexe y = { .fd = 42 };
	check(selfexe_decode(t, &y) == 0);
	check(y.fd == 42); /* left alone */
	check(same_segments(&x, &y));
	free(t);

	/* the full table */
	x.n = BERTH_SELFEXE_MAX_SEGMENTS;
	for (size_t i = 0; i < x.n; i++)
		x.seg[i] = (struct berth_selfexe_segment){ 0x1000 * (i + 1), 0x1000 * (i + 2),
							   0x100 * i, (int)(i % 8), i % 2 == 1 };
	t = selfexe_encode(&x);
	check(t);
	memset(&y, 0, sizeof(y));
	check(selfexe_decode(t, &y) == 0);
	check(y.n == BERTH_SELFEXE_MAX_SEGMENTS);
	check(same_segments(&x, &y));
	free(t);

	/* no final newline is fine */
	check(selfexe_decode("1000 2000 0 5 1", &y) == 0);
	check(y.n == 1 && y.seg[0].start == 0x1000 && y.seg[0].end == 0x2000 &&
	      y.seg[0].prot == 5 && y.seg[0].written);
}

static void test_malformed(void)
{
	struct berth_selfexe y;
	static const char *const bad[] = {
		"",					/* no segment */
		"\n",					/* an empty line */
		"1000 2000 0 5\n",			/* a field short */
		"1000\n",				/* */
		"zz 2000 0 5 0\n",			/* not hex */
		"2000 1000 0 5 0\n",			/* end before start */
		"1000 1000 0 5 0\n",			/* empty */
		"1000 2000 0 5 0\nnonsense\n",		/* a bad second line */
		"1000 2000 0 5 0\n\n2000 3000 0 5 0\n", /* a blank line between */
		"1000 2000 0 5 0 junk\n",		/* junk after the fields */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = selfexe_decode(bad[i], &y);
		if (r != -EBADMSG) {
			fprintf(stderr, "decode(\"%s\"): want -EBADMSG, got %d\n", bad[i], r);
			exit(1);
		}
	}

	/* one segment more than the table holds */
	char text[2048] = "";
	size_t len = 0;
	for (int i = 0; i <= BERTH_SELFEXE_MAX_SEGMENTS; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%x %x 0 5 0\n",
					0x1000 * (i + 1), 0x1000 * (i + 2));
	check(selfexe_decode(text, &y) == -E2BIG);
}

/* prepare() on this very test: a sealed copy of the file, same_segments() inside an executable segment. */
static void test_prepare(void)
{
	struct berth_selfexe x;
	struct berth_error *e = NULL;
	int r = selfexe_prepare(&x, &e);
	if (r < 0) {
		fprintf(stderr, "prepare: %s\n", e ? e->msg : "?");
		exit(1);
	}
	check(x.fd >= 0);
	check(fcntl(x.fd, F_GETFD) == FD_CLOEXEC);
	int seals = fcntl(x.fd, F_GET_SEALS);
	check(seals >= 0 && (seals & F_SEAL_WRITE) && (seals & F_SEAL_SEAL));
	struct stat a, b;
	check(fstat(x.fd, &a) == 0 && stat("/proc/self/exe", &b) == 0);
	check(a.st_size == b.st_size);

	check(x.n >= 1 && x.n <= BERTH_SELFEXE_MAX_SEGMENTS);
	uintptr_t m = (uintptr_t)&same_segments;
	bool found = false;
	for (size_t i = 0; i < x.n; i++) {
		check(x.seg[i].end > x.seg[i].start);
		if (m >= x.seg[i].start && m < x.seg[i].end)
			found = (x.seg[i].prot & PROT_EXEC) != 0;
	}
	check(found);

	char *t = selfexe_encode(&x);
	struct berth_selfexe y;
	check(t && selfexe_decode(t, &y) == 0);
	check(same_segments(&x, &y));
	free(t);
	close(x.fd);
	check(!selfexe_detached());
}

int main(void)
{
	test_round_trip();
	test_malformed();
	test_prepare();
	return 0;
}
