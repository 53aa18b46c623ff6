// SPDX-License-Identifier: MIT
/*
 * tbprof: a TCG plugin that counts guest instructions per translation
 * block, to find where a guest's instructions go (bench-guest --profile).
 *
 *   -plugin libtbprof.so,out=FILE
 *
 * At exit it prints "total insns: N" (as QEMU's insn.c example does, so
 * guest_bench.py reads it the same way) and writes FILE: one line per
 * block start address, "vaddr instructions" (instructions executed in
 * blocks starting there, summed over vCPUs and retranslations), largest
 * first. tests/bench/tbprof.py folds them into kernel symbols.
 *
 * Counting is inline (a per-vCPU scoreboard add per block), so the
 * overhead is the same as insn.c's inline mode.
 */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct block {
	uint64_t vaddr;
	uint64_t insns;		/* instructions in the block */
	struct qemu_plugin_scoreboard *execs;
};

static GMutex lock;
static GPtrArray *blocks;	/* every translated block, kept to the end */
static char *out_path;

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	GHashTable *by_addr = g_hash_table_new(g_int64_hash, g_int64_equal);
	uint64_t total = 0;
	GList *keys, *it;
	FILE *f;

	(void)id;
	(void)p;
	for (guint i = 0; i < blocks->len; i++) {
		struct block *b = g_ptr_array_index(blocks, i);
		uint64_t n = b->insns *
			qemu_plugin_u64_sum(qemu_plugin_scoreboard_u64(b->execs));
		uint64_t *sum = g_hash_table_lookup(by_addr, &b->vaddr);

		total += n;
		if (!sum) {
			sum = g_new0(uint64_t, 2);
			sum[0] = b->vaddr;
			g_hash_table_insert(by_addr, &sum[0], sum);
		}
		sum[1] += n;
	}
	g_autofree char *line =
		g_strdup_printf("total insns: %" PRIu64 "\n", total);
	qemu_plugin_outs(line);

	f = out_path ? fopen(out_path, "w") : NULL;
	if (out_path && !f) {
		qemu_plugin_outs("tbprof: cannot write the profile\n");
		return;
	}
	keys = g_hash_table_get_values(by_addr);
	for (it = keys; f && it; it = it->next) {
		uint64_t *sum = it->data;

		if (sum[1])
			fprintf(f, "%" PRIx64 " %" PRIu64 "\n", sum[0], sum[1]);
	}
	if (f)
		fclose(f);
	g_list_free(keys);
}

static void vcpu_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block *b = g_new0(struct block, 1);

	(void)id;
	b->vaddr = qemu_plugin_tb_vaddr(tb);
	b->insns = qemu_plugin_tb_n_insns(tb);
	b->execs = qemu_plugin_scoreboard_new(sizeof(uint64_t));
	g_mutex_lock(&lock);
	g_ptr_array_add(blocks, b);
	g_mutex_unlock(&lock);
	qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(
		tb, QEMU_PLUGIN_INLINE_ADD_U64,
		qemu_plugin_scoreboard_u64(b->execs), 1);
}

QEMU_PLUGIN_EXPORT
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			int argc, char **argv)
{
	(void)info;
	for (int i = 0; i < argc; i++) {
		if (g_str_has_prefix(argv[i], "out=")) {
			out_path = g_strdup(argv[i] + 4);
		} else if (!g_str_has_prefix(argv[i], "inline=")) {
			fprintf(stderr, "tbprof: unknown option %s\n", argv[i]);
			return -1;
		}
	}
	blocks = g_ptr_array_new();
	qemu_plugin_register_vcpu_tb_trans_cb(id, vcpu_tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
