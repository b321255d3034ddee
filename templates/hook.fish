# dsqlenv hook for fish, from: dsqlenv hook fish | source
# Before each prompt, when DSQLENV_PROFILE is set and its token (DSQLENV_EXPIRES_AT, Unix
# seconds) ends within DSQLENV_REFRESH_MARGIN seconds (default 60), run dsqlenv again for that
# profile, from the file the block came from (DSQLENV_PROFILES_FILE). A prompt
# whose token is still fresh starts no process: the clock is read with builtins (fish 3.5's
# path mtime of / plus its age). After a failure dsqlenv has printed one line; the hook then
# waits 30 s, doubling up to 15 min, before it tries again. An event handler leaves $status alone.
function __dsqlenv_hook --on-event fish_prompt
    set -q DSQLENV_PROFILE[1]; and string match -qr '^[A-Za-z0-9][A-Za-z0-9._-]*$' -- "$DSQLENV_PROFILE"; or return
    set -l now
    if builtin -q path
        set now (math (builtin path mtime /) + (builtin path mtime --relative /))
    else
        set now (date +%s)
    end
    set -l margin 60
    string match -qr '^[0-9]{1,9}$' -- "$DSQLENV_REFRESH_MARGIN"; and set margin $DSQLENV_REFRESH_MARGIN
    set -l expires 0
    string match -qr '^[0-9]{1,18}$' -- "$DSQLENV_EXPIRES_AT"; and set expires $DSQLENV_EXPIRES_AT
    if test (math $now + $margin) -lt $expires; or test $now -lt $__dsqlenv_retry_at
        return
    end
    set -l block
    if set block ({{.Bin}} fish --config "$DSQLENV_PROFILES_FILE" -- "$DSQLENV_PROFILE")
        printf '%s\n' $block | source
        set -g __dsqlenv_backoff 0
    else
        set -g __dsqlenv_backoff (math "min(900, max(30, $__dsqlenv_backoff * 2))")
        set -g __dsqlenv_retry_at (math $now + $__dsqlenv_backoff)
    end
end
set -g __dsqlenv_retry_at 0
set -g __dsqlenv_backoff 0
