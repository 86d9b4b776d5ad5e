// Greedy continuations by llama.cpp (libllama, built against a llama.cpp checkout; nothing of it is vendored) for
// bench/cpu/quant-agreement.sh: one model load for many prompts, llama.cpp's attention and KV cache chosen on the
// command line, and each step's three largest logits, to tell a near-tie from an arithmetic error.
//
//   llama-greedy MODEL N FLASH CACHE THREADS [text] < prompts
//
// FLASH: on, off or auto (llama.cpp's default); CACHE: f32 or f16 (llama.cpp's default), for K and V. Prompts come
// on stdin separated by NUL bytes and are tokenised as llama-simple does (BOS added, special tokens parsed). Output:
// a line per prompt, a field per generated token, "id:logit,id:logit,id:logit" (the three largest logits, greatest
// first; the first id is the greedy choice), stopping at an end-of-generation token or after N; with "text", each
// continuation's text (llama-simple's pieces) followed by a NUL byte instead.
//
//   cc -O2 llama-greedy.c -I$L/include -I$L/ggml/include -L$L/build/bin -lllama -lggml -lggml-base -o llama-greedy
#include "llama.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quiet(enum ggml_log_level level, const char * text, void * data) { (void)level; (void)text; (void)data; }

// The k largest logits, greatest first, the lower id first among equals (llama.cpp's greedy sampler takes the first).
static void top(const float * logits, int vocab, int k, int * ids) {
    for (int j = 0; j < k; j++) ids[j] = -1;
    for (int i = 0; i < vocab; i++) {
        for (int j = 0; j < k; j++) {
            if (ids[j] < 0 || logits[i] > logits[ids[j]]) {
                for (int m = k - 1; m > j; m--) ids[m] = ids[m - 1];
                ids[j] = i;
                break;
            }
        }
    }
}

int main(int argc, char ** argv) {
    if (argc != 6 && !(argc == 7 && strcmp(argv[6], "text") == 0)) {
        fprintf(stderr, "usage: %s MODEL N on|off|auto f32|f16 THREADS [text] < NUL-separated prompts\n", argv[0]);
        return 1;
    }
    int text = argc == 7;
    int n_predict = atoi(argv[2]), threads = atoi(argv[5]);
    enum llama_flash_attn_type flash = strcmp(argv[3], "on") == 0 ? LLAMA_FLASH_ATTN_TYPE_ENABLED
                                     : strcmp(argv[3], "off") == 0 ? LLAMA_FLASH_ATTN_TYPE_DISABLED : LLAMA_FLASH_ATTN_TYPE_AUTO;
    enum ggml_type cache = strcmp(argv[4], "f32") == 0 ? GGML_TYPE_F32 : GGML_TYPE_F16;
    llama_log_set(quiet, NULL);
    ggml_backend_load_all();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "error: %s: llama.cpp cannot load it\n", argv[1]); return 1; }
    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    int n_vocab = llama_vocab_n_tokens(vocab);

    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 2048;
    cp.n_batch = 2048; // the whole prompt in one batch, as llama-simple
    cp.n_threads = cp.n_threads_batch = threads;
    cp.flash_attn_type = flash;
    cp.type_k = cp.type_v = cache;
    struct llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "error: llama.cpp cannot make the context\n"); return 1; }

    size_t cap = 1 << 16, len = 0;
    char * prompt = malloc(cap);
    int * tokens = malloc(sizeof(int) * 2048);
    for (int c = 0;;) {
        c = getchar();
        if (c != 0 && c != EOF) {
            if (len + 1 >= cap) prompt = realloc(prompt, cap *= 2);
            prompt[len++] = (char)c;
            continue;
        }
        if (len == 0 && c == EOF) break;
        int n = llama_tokenize(vocab, prompt, (int)len, tokens, 2048 - n_predict, true, true);
        if (n < 0) { fprintf(stderr, "error: a prompt is longer than %d tokens\n", 2048 - n_predict); return 1; }
        llama_memory_clear(llama_get_memory(ctx), true);
        struct llama_batch batch = llama_batch_get_one(tokens, n);
        int next;
        for (int step = 0; step < n_predict; step++) {
            if (llama_decode(ctx, batch)) { fprintf(stderr, "error: llama_decode failed\n"); return 1; }
            int ids[3];
            const float * logits = llama_get_logits_ith(ctx, -1);
            top(logits, n_vocab, 3, ids);
            next = ids[0];
            if (text) {
                if (llama_vocab_is_eog(vocab, next)) break;
                char piece[256];
                int n_piece = llama_token_to_piece(vocab, next, piece, sizeof(piece), 0, true);
                fwrite(piece, 1, n_piece > 0 ? n_piece : 0, stdout);
            } else {
                printf("%s%d:%.6f,%d:%.6f,%d:%.6f", step ? " " : "", ids[0], logits[ids[0]], ids[1], logits[ids[1]], ids[2], logits[ids[2]]);
                if (llama_vocab_is_eog(vocab, next)) break;
            }
            batch = llama_batch_get_one(&next, 1);
        }
        if (text) putchar(0);
        else printf("\n");
        fflush(stdout);
        len = 0;
        if (c == EOF) break;
    }
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
