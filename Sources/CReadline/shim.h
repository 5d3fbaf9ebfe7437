#ifndef DOCKET_CREADLINE_SHIM_H
#define DOCKET_CREADLINE_SHIM_H
// GNU readline for the reviewer session. Swift 6 rejects readline's mutable C globals as unsafe,
// so everything is reached through the static inline functions below.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>
#include <readline/readline.h>
#include <readline/history.h>

// ---- Completion: Swift sets the candidate words for the word being completed. ----

typedef void (*docket_completion_provider)(const char *line, int start, int end);

static docket_completion_provider docket_provider = NULL;
static char **docket_words = NULL;
static int docket_word_count = 0;

static inline void docket_set_completion_provider(docket_completion_provider provider) {
    docket_provider = provider;
}

/// Replaces the candidate list (copied).
static inline void docket_set_completions(const char **words, int count) {
    for (int i = 0; i < docket_word_count; i++) free(docket_words[i]);
    free(docket_words);
    docket_words = count > 0 ? (char **)calloc((size_t)count, sizeof(char *)) : NULL;
    for (int i = 0; i < count; i++) docket_words[i] = strdup(words[i]);
    docket_word_count = count;
}

static char *docket_completion_generator(const char *text, int state) {
    static int index;
    static size_t length;
    if (state == 0) { index = 0; length = strlen(text); }
    while (index < docket_word_count) {
        const char *word = docket_words[index++];
        if (strncmp(word, text, length) == 0) return strdup(word);
    }
    return NULL;
}

static char **docket_attempted_completion(const char *text, int start, int end) {
    rl_attempted_completion_over = 1;  // never fall back to file names
    if (docket_provider) docket_provider(rl_line_buffer, start, end);
    return rl_completion_matches(text, docket_completion_generator);
}

// ---- Ctrl-C abandons the current input, not the session. ----

static volatile sig_atomic_t docket_interrupted = 0;
static char *docket_line = NULL;
static int docket_line_done = 0;
static int docket_line_eof = 0;

static void docket_sigint(int signal_number) {
    (void)signal_number;
    docket_interrupted = 1;
}

// ---- Job control and resizing: Ctrl-Z then `fg`, and a resized window. ----
// readline's own handlers are off (rl_catch_signals = 0), so the session notices SIGCONT and
// SIGWINCH itself: after `fg` the shell has put the terminal back in its own mode, so the
// session's mode is applied again and the prompt redrawn; after a resize readline learns the
// new width.

static volatile sig_atomic_t docket_continued = 0;
static volatile sig_atomic_t docket_resized = 0;

static void docket_sigcont(int signal_number) {
    (void)signal_number;
    docket_continued = 1;
}

static void docket_sigwinch(int signal_number) {
    (void)signal_number;
    docket_resized = 1;
}

/// True once after SIGCONT (the session was stopped and resumed).
static inline int docket_take_continued(void) {
    int value = docket_continued;
    docket_continued = 0;
    return value;
}

/// True once after SIGWINCH.
static inline int docket_take_resized(void) {
    int value = docket_resized;
    docket_resized = 0;
    return value;
}

static void docket_line_handler(char *line) {
    docket_line_done = 1;
    // Removing the handler here, not after the loop, keeps readline from displaying the prompt
    // again once the line is done (readline's own callback example does the same).
    rl_callback_handler_remove();
    if (line == NULL) { docket_line_eof = 1; return; }
    docket_line = line;
}

// ---- Idle work (lease renewal) while waiting at the prompt. ----

typedef void (*docket_idle_fn)(void);
static docket_idle_fn docket_idle = NULL;
static int docket_idle_seconds = 0;

static inline void docket_set_idle(docket_idle_fn function, int seconds) {
    docket_idle = function;
    docket_idle_seconds = seconds;
}

/// Sets up readline once: our completion, no readline signal handlers, SIGINT without SA_RESTART
/// so a waiting select() returns EINTR.
static inline void docket_readline_setup(const char *name) {
    rl_readline_name = name;
    rl_catch_signals = 0;
    rl_attempted_completion_function = docket_attempted_completion;
    rl_basic_word_break_characters = " \t\n\"'";
    // Offer completions in the order given (labels in their declared order), not sorted.
    rl_sort_completion_matches = 0;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = docket_sigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    sigaction(SIGINT, &action, NULL);
    action.sa_handler = docket_sigcont;
    sigaction(SIGCONT, &action, NULL);
    action.sa_handler = docket_sigwinch;
    sigaction(SIGWINCH, &action, NULL);
    // A parent may have started us with SIGINT blocked; Ctrl-C must reach the session.
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGINT);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
    using_history();
}

/// Reads one line with editing, completion and history. Returns a malloc'd line (status 0),
/// or NULL with status 1 after Ctrl-C, or NULL with status 2 at end of input (Ctrl-D).
static inline char *docket_readline(const char *prompt, int *status) {
    docket_line = NULL;
    docket_line_done = 0;
    docket_line_eof = 0;
    docket_interrupted = 0;
    rl_callback_handler_install(prompt, docket_line_handler);
    while (!docket_line_done) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(fileno(rl_instream ? rl_instream : stdin), &fds);
        struct timeval timeout = { docket_idle_seconds, 0 };
        int ready = select(fileno(rl_instream ? rl_instream : stdin) + 1, &fds, NULL, NULL,
                           (docket_idle && docket_idle_seconds > 0) ? &timeout : NULL);
        if (ready == 0) {
            if (docket_idle) docket_idle();
            continue;
        }
        if (ready < 0 && errno == EINTR) {
            if (docket_take_resized()) rl_resize_terminal();
            if (docket_take_continued()) {
                // Back from Ctrl-Z: the shell restored its own terminal mode.
                rl_deprep_terminal();
                rl_prep_terminal(1);
                rl_resize_terminal();
                rl_forced_update_display();
            }
            if (docket_interrupted) {
                docket_interrupted = 0;
                // Show ^C after what was typed, then drop the line, as a shell does.
                // The terminal echoes ^C itself; start a new line for the next prompt.
                rl_crlf();
                fflush(rl_outstream ? rl_outstream : stdout);
                rl_replace_line("", 0);
                rl_free_line_state();
                rl_callback_sigcleanup();
                rl_callback_handler_remove();
                *status = 1;
                return NULL;
            }
            continue;
        }
        if (ready > 0) rl_callback_read_char();
    }
    rl_callback_handler_remove();
    if (docket_line_eof) {
        // Ctrl-D leaves the cursor after the prompt. With bracketed paste on, readline has
        // already moved to a new line; otherwise do it here, so what follows starts a line.
        const char *paste = rl_variable_value("enable-bracketed-paste");
        if (paste == NULL || strcmp(paste, "on") != 0) {
            FILE *out = rl_outstream ? rl_outstream : stdout;
            fputc('\n', out);
            fflush(out);
        }
        *status = 2;
        return NULL;
    }
    *status = 0;
    return docket_line;
}

static inline void docket_add_history(const char *line) { add_history(line); }
/// Empties the in-memory history list (a new session starts from its own file only).
static inline void docket_clear_history(void) { clear_history(); }
static inline int docket_read_history(const char *path) { return read_history(path); }
/// Appends the newest history entry to `path` (which must exist) and keeps its last `keep`
/// lines. Appending, never rewriting the whole file, lets sessions share one file safely.
static inline int docket_append_history(const char *path, int keep) {
    int rc = append_history(1, path);
    if (rc == 0) history_truncate_file(path, keep);
    return rc;
}
static inline int docket_interrupt_pending(void) { return docket_interrupted; }
static inline void docket_clear_interrupt(void) { docket_interrupted = 0; }

#endif
