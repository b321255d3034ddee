# dsqlenv hook for fish, from: dsqlenv hook fish | source
# Before each prompt, when DSQLENV_PROFILE is set and its token (DSQLENV_EXPIRES_AT, Unix
# seconds) ends within DSQLENV_REFRESH_MARGIN seconds (default 60), run dsqlenv again for that
# profile, from the file the block came from (DSQLENV_PROFILES_FILE). A prompt
# whose token is still fresh starts no process: the clock is read with builtins (fish 3.5's
# path mtime of / plus its age). After a failure dsqlenv has printed one line; the hook then
# waits 30 s, doubling up to 15 min, before it tries again. An event handler leaves $status alone.
# __dsqlenv_now prints the Unix time, with builtins on fish 3.5 and later.
function __dsqlenv_now
    if builtin -q path
        math (builtin path mtime /) + (builtin path mtime --relative /)
    else
        date +%s
    end
end
function __dsqlenv_hook --on-event fish_prompt
    set -q DSQLENV_PROFILE[1]; and string match -qr '^[A-Za-z0-9][A-Za-z0-9._-]*\z' -- "$DSQLENV_PROFILE"; or return
    set -l now (__dsqlenv_now)
    set -l margin 60
    string match -qr '^[0-9]{1,9}$' -- "$DSQLENV_REFRESH_MARGIN"; and set margin $DSQLENV_REFRESH_MARGIN
    set -l expires 0
    string match -qr '^[0-9]{1,18}$' -- "$DSQLENV_EXPIRES_AT"; and set expires $DSQLENV_EXPIRES_AT
    if test (math $now + $margin) -lt $expires; or test $now -lt $__dsqlenv_retry_at
        return
    end
    set -l block
    # Only an absolute file, as blocks write it: a relative one would be read from whatever
    # directory the prompt is in.
    set -l file "$DSQLENV_PROFILES_FILE"
    string match -q -- '/*' "$file"; or set file ''
    if set block ({{.Bin}} fish --config "$file" -- "$DSQLENV_PROFILE")
        printf '%s\n' $block | source
        set -g __dsqlenv_backoff 0
    else
        set -g __dsqlenv_backoff (math "min(900, max(30, $__dsqlenv_backoff * 2))")
        set -g __dsqlenv_retry_at (math $now + $__dsqlenv_backoff)
    end
end
# dsqlenv_prompt prints the active profile and its token's time left, as `dsqlenv status`
# counts it ("prod 12m", "prod 45s", "prod 2h5m", "prod expired", "prod ?" when the expiry is
# not whole seconds at most 168 h ahead), or nothing without a profile, with builtins only and the hook's clock: for
# function fish_right_prompt; dsqlenv_prompt; end. Values that a block could not have
# written are not printed (\z: PCRE's $ also matches before a final newline); 12 digits keep
# math within its exact range.
function dsqlenv_prompt --description 'the active dsqlenv profile and the time its token has left'
    set -q DSQLENV_PROFILE[1]; and string match -qr '^[A-Za-z0-9][A-Za-z0-9._-]*\z' -- "$DSQLENV_PROFILE"; or return 0
    if not string match -qr '^[0-9]{1,12}\z' -- "$DSQLENV_EXPIRES_AT"
        printf '%s ?' $DSQLENV_PROFILE
        return 0
    end
    set -l left (math $DSQLENV_EXPIRES_AT - (__dsqlenv_now))
    if test $left -gt 604800
        printf '%s ?' $DSQLENV_PROFILE
    else if test $left -le 0
        printf '%s expired' $DSQLENV_PROFILE
    else if test $left -lt 60
        printf '%s %ds' $DSQLENV_PROFILE $left
    else if test $left -lt 3600
        printf '%s %dm' $DSQLENV_PROFILE (math --scale 0 "floor($left / 60)")
    else if test (math "$left % 3600") -lt 60
        printf '%s %dh' $DSQLENV_PROFILE (math --scale 0 "floor($left / 3600)")
    else
        printf '%s %dh%dm' $DSQLENV_PROFILE (math --scale 0 "floor($left / 3600)") (math --scale 0 "floor($left % 3600 / 60)")
    end
end
set -g __dsqlenv_retry_at 0
set -g __dsqlenv_backoff 0
