/* Shared by the benchmark BPF programs (bench.bpf.c) and their drivers. */
#pragma once

#include <linux/types.h>

/* The frame restore_and_call and gen write into each packet. */
struct bench_frame {
        __u32 len; /* 42, 60 or 86 */
        __u32 pad;
        __u8 data[128];
};

enum {
        BENCH_COUNT_ARP_REPLY, /* ARP replies count_drop dropped */
        BENCH_COUNT_OTHER,     /* other frames count_drop dropped */
        BENCH_COUNT_MAX,
};
