# dsqlenv hook for zsh, from: eval "$(dsqlenv hook zsh)"
# Before each prompt, when DSQLENV_PROFILE is set and its token (DSQLENV_EXPIRES_AT, Unix
# seconds) ends within DSQLENV_REFRESH_MARGIN seconds (default 60), run dsqlenv again for that
# profile, from the file the block came from (DSQLENV_PROFILES_FILE). A prompt
# whose token is still fresh starts no process: the clock is $EPOCHSECONDS from the
# zsh/datetime module. After a failure dsqlenv has printed one line; the hook then waits 30 s,
# doubling up to 15 min, before it tries again. $? is kept for the prompt.
zmodload -F zsh/datetime p:EPOCHSECONDS 2>/dev/null
# _dsqlenv_now sets _dsqlenv_t to the Unix time. Only digits reach arithmetic: zsh evaluates a
# name like a[$(cmd)] found there, and an EPOCHSECONDS inherited while zsh/datetime is
# missing is just a string.
typeset -g _dsqlenv_t=
_dsqlenv_now() {
  _dsqlenv_t=${EPOCHSECONDS:-}
  [[ $_dsqlenv_t =~ '^[0-9]{1,18}$' ]] || _dsqlenv_t=$(date +%s)
}
_dsqlenv_hook() {
  local -i ret=$?
  local now margin=60 expires=0 block
  [[ ${DSQLENV_PROFILE:-} =~ '^[A-Za-z0-9][A-Za-z0-9._-]*$' ]] || return $ret
  _dsqlenv_now
  now=$_dsqlenv_t
  # 10#: with OCTAL_ZEROES set, zsh would read 08 as a bad octal number.
  [[ ${DSQLENV_REFRESH_MARGIN:-} =~ '^[0-9]{1,9}$' ]] && margin=$((10#$DSQLENV_REFRESH_MARGIN))
  [[ ${DSQLENV_EXPIRES_AT:-} =~ '^[0-9]{1,18}$' ]] && expires=$((10#$DSQLENV_EXPIRES_AT))
  if (( now + margin < expires || now < _dsqlenv_retry_at )); then
    return $ret
  fi
  # Only an absolute file, as blocks write it: a relative one would be read from whatever
  # directory the prompt is in.
  local file=${DSQLENV_PROFILES_FILE:-}
  [[ $file == /* ]] || file=
  if block=$({{.Bin}} zsh --config "$file" -- "$DSQLENV_PROFILE") && eval "$block"; then
    _dsqlenv_backoff=0
  else
    _dsqlenv_backoff=$(( _dsqlenv_backoff < 30 ? 30 : (_dsqlenv_backoff * 2 > 900 ? 900 : _dsqlenv_backoff * 2) ))
    _dsqlenv_retry_at=$(( now + _dsqlenv_backoff ))
  fi
  return $ret
}
# dsqlenv_prompt prints the active profile and its token's time left, as `dsqlenv status`
# counts it ("prod 12m", "prod 45s", "prod 2h5m", "prod expired", "prod ?" when the expiry is
# not whole seconds at most 168 h ahead), or nothing without a profile, with builtins only and the hook's clock: for
# setopt PROMPT_SUBST; RPROMPT='$(dsqlenv_prompt)'. Values that a block could not have
# written are not printed (so no % prompt escape either), and only digits reach arithmetic.
dsqlenv_prompt() {
  [[ ${DSQLENV_PROFILE:-} =~ '^[A-Za-z0-9][A-Za-z0-9._-]*$' ]] || return 0
  if [[ ! ${DSQLENV_EXPIRES_AT:-} =~ '^[0-9]{1,12}$' ]]; then
    print -rn -- "$DSQLENV_PROFILE ?"
    return 0
  fi
  _dsqlenv_now
  local -i left=$(( 10#$DSQLENV_EXPIRES_AT - _dsqlenv_t ))
  if (( left > 604800 )); then
    print -rn -- "$DSQLENV_PROFILE ?"
  elif (( left <= 0 )); then
    print -rn -- "$DSQLENV_PROFILE expired"
  elif (( left < 60 )); then
    print -rn -- "$DSQLENV_PROFILE ${left}s"
  elif (( left < 3600 )); then
    print -rn -- "$DSQLENV_PROFILE $(( left / 60 ))m"
  elif (( left % 3600 < 60 )); then
    print -rn -- "$DSQLENV_PROFILE $(( left / 3600 ))h"
  else
    print -rn -- "$DSQLENV_PROFILE $(( left / 3600 ))h$(( left % 3600 / 60 ))m"
  fi
}
typeset -gi _dsqlenv_retry_at=0 _dsqlenv_backoff=0
autoload -Uz add-zsh-hook
add-zsh-hook precmd _dsqlenv_hook
