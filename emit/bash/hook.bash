# dsqlenv hook for bash, from: eval "$(dsqlenv hook bash)"
# Before each prompt, when DSQLENV_PROFILE is set and its token (DSQLENV_EXPIRES_AT, Unix
# seconds) ends within DSQLENV_REFRESH_MARGIN seconds (default 60), run dsqlenv again for that
# profile, from the file the block came from (DSQLENV_PROFILES_FILE). A prompt whose token is
# still fresh starts no process. The clock is bash's own printf %(%s)T (bash 4.2+); older
# bash (macOS ships 3.2) counts SECONDS from one `date` when the hook loads. EPOCHSECONDS is
# not used: a value inherited from the environment, or left after `unset EPOCHSECONDS`, is
# not a clock. After a failure dsqlenv has printed one line; the hook then waits 30 s,
# doubling up to 15 min, before it tries again. $? is kept for the prompt.
_dsqlenv_now() {
  _dsqlenv_t=
  printf -v _dsqlenv_t '%(%s)T' -1 2>/dev/null
  # Only digits reach arithmetic: bash evaluates a name like a[$(cmd)] found there.
  [[ $_dsqlenv_t =~ ^[0-9]{1,18}$ ]] && return
  local s=${SECONDS:-}
  if [[ $s =~ ^[0-9]{1,18}$ && $_dsqlenv_epoch0 =~ ^[0-9]{1,18}$ && $_dsqlenv_seconds0 =~ ^[0-9]{1,18}$ ]]; then
    _dsqlenv_t=$(( _dsqlenv_epoch0 + s - _dsqlenv_seconds0 ))
    return
  fi
  # The first prompt of an old bash, or one whose SECONDS is not a number (unset, then set
  # by something else): ask date, and count from here when SECONDS can be trusted.
  _dsqlenv_t=$(date +%s)
  [[ $_dsqlenv_t =~ ^[0-9]{1,18}$ ]] || _dsqlenv_t=0
  [[ $s =~ ^[0-9]{1,18}$ ]] && _dsqlenv_epoch0=$_dsqlenv_t _dsqlenv_seconds0=$s
}
_dsqlenv_hook() {
  local ret=$? margin=60 expires=0 block
  [[ ${DSQLENV_PROFILE:-} =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || return $ret
  _dsqlenv_now
  local now=$_dsqlenv_t
  # 10#: a leading 0 would make bash read 08 as a bad octal number.
  [[ ${DSQLENV_REFRESH_MARGIN:-} =~ ^[0-9]{1,9}$ ]] && margin=$((10#$DSQLENV_REFRESH_MARGIN))
  [[ ${DSQLENV_EXPIRES_AT:-} =~ ^[0-9]{1,18}$ ]] && expires=$((10#$DSQLENV_EXPIRES_AT))
  if (( now + margin < expires || now < _dsqlenv_retry_at )); then
    return $ret
  fi
  # Only an absolute file, as blocks write it: a relative one would be read from whatever
  # directory the prompt is in.
  local file=${DSQLENV_PROFILES_FILE:-}
  [[ $file == /* ]] || file=
  if block=$({{.Bin}} bash --config "$file" -- "$DSQLENV_PROFILE") && eval "$block"; then
    _dsqlenv_backoff=0
  else
    _dsqlenv_backoff=$(( _dsqlenv_backoff < 30 ? 30 : (_dsqlenv_backoff * 2 > 900 ? 900 : _dsqlenv_backoff * 2) ))
    _dsqlenv_retry_at=$(( now + _dsqlenv_backoff ))
  fi
  return $ret
}
# dsqlenv_prompt prints the active profile and its token's time left, as `dsqlenv status`
# counts it ("prod 12m", "prod 45s", "prod 2h5m", "prod expired", "prod ?" when the expiry is
# not whole seconds at most 168 h ahead), or nothing without a profile, with builtins only and
# the hook's clock: for PS1='$(dsqlenv_prompt) \$ '. Values that a block could not have written are not printed,
# and only digits reach arithmetic (10#: a leading zero is not octal).
dsqlenv_prompt() {
  [[ ${DSQLENV_PROFILE:-} =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || return 0
  if [[ ! ${DSQLENV_EXPIRES_AT:-} =~ ^[0-9]{1,12}$ ]]; then
    printf '%s ?' "$DSQLENV_PROFILE"
    return 0
  fi
  _dsqlenv_now
  local left=$(( 10#$DSQLENV_EXPIRES_AT - _dsqlenv_t ))
  if (( left > 604800 )); then
    printf '%s ?' "$DSQLENV_PROFILE"
  elif (( left <= 0 )); then
    printf '%s expired' "$DSQLENV_PROFILE"
  elif (( left < 60 )); then
    printf '%s %ds' "$DSQLENV_PROFILE" "$left"
  elif (( left < 3600 )); then
    printf '%s %dm' "$DSQLENV_PROFILE" "$(( left / 60 ))"
  elif (( left % 3600 < 60 )); then
    printf '%s %dh' "$DSQLENV_PROFILE" "$(( left / 3600 ))"
  else
    printf '%s %dh%dm' "$DSQLENV_PROFILE" "$(( left / 3600 ))" "$(( left % 3600 / 60 ))"
  fi
}
_dsqlenv_retry_at=0
_dsqlenv_backoff=0
_dsqlenv_epoch0=''
_dsqlenv_seconds0=''
_dsqlenv_now
# Run first, so the commands already there still see the last command's $?.
if [[ $(declare -p PROMPT_COMMAND 2>/dev/null) == "declare -a"* ]]; then
  # bash 5.1 and later: PROMPT_COMMAND may be an array of commands.
  [[ " ${PROMPT_COMMAND[*]} " == *" _dsqlenv_hook "* ]] || PROMPT_COMMAND=(_dsqlenv_hook "${PROMPT_COMMAND[@]}")
elif [[ $'\n'${PROMPT_COMMAND:-}$'\n' != *$'\n'_dsqlenv_hook$'\n'* ]]; then
  # shellcheck disable=SC2128,SC2178 # a string here: the array case is the branch above
  PROMPT_COMMAND=_dsqlenv_hook${PROMPT_COMMAND:+$'\n'$PROMPT_COMMAND}
fi
