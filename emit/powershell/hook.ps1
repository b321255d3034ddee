# dsqlenv hook for PowerShell, from: dsqlenv hook powershell | Out-String | Invoke-Expression
# Before each prompt, when DSQLENV_PROFILE is set and its token (DSQLENV_EXPIRES_AT, Unix
# seconds) ends within DSQLENV_REFRESH_MARGIN seconds (default 60), run dsqlenv again for that
# profile, from the file the block came from (DSQLENV_PROFILES_FILE). A prompt
# whose token is still fresh starts no process: the clock is [DateTimeOffset]::UtcNow. After a
# failure dsqlenv has printed one line; the hook then waits 30 s, doubling up to 15 min, before
# it tries again. The prompt that was there runs first and keeps $? and $LASTEXITCODE.
function global:__dsqlenvHook {
    if ("$env:DSQLENV_PROFILE" -cnotmatch '^[A-Za-z0-9][A-Za-z0-9._-]*\z') { return }
    $now = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
    $margin = 60L
    if ("$env:DSQLENV_REFRESH_MARGIN" -match '^[0-9]{1,9}$') { $margin = [long]$env:DSQLENV_REFRESH_MARGIN }
    $expires = 0L
    if ("$env:DSQLENV_EXPIRES_AT" -match '^[0-9]{1,18}$') { $expires = [long]$env:DSQLENV_EXPIRES_AT }
    if ($now + $margin -lt $expires -or $now -lt $global:__dsqlenvRetryAt) { return }
    $saved = $global:LASTEXITCODE
    # Passed in an array: Windows PowerShell drops a literal -- and empty arguments before a
    # native command.
    $dsqlenvArgs = @('powershell')
    # Only an absolute file (C:\..., \\server\..., or / on Linux and macOS), as blocks write it:
    # a relative one would be read from whatever directory the prompt is in.
    if ("$env:DSQLENV_PROFILES_FILE" -match '^([A-Za-z]:[\\/]|[\\/]{2}|/)') { $dsqlenvArgs += '--config', $env:DSQLENV_PROFILES_FILE }
    $dsqlenvArgs += '--', $env:DSQLENV_PROFILE
    $block = & {{.Bin}} @dsqlenvArgs | Out-String
    if ($LASTEXITCODE -eq 0) {
        Invoke-Expression $block
        $global:__dsqlenvBackoff = 0
    } else {
        $global:__dsqlenvBackoff = [Math]::Min(900, [Math]::Max(30, 2 * $global:__dsqlenvBackoff))
        $global:__dsqlenvRetryAt = $now + $global:__dsqlenvBackoff
    }
    $global:LASTEXITCODE = $saved
}
# dsqlenv_prompt returns the active profile and its token's time left, as `dsqlenv status`
# counts it ('prod 12m', 'prod 45s', 'prod 2h5m', 'prod expired', 'prod ?' when the expiry is
# not whole seconds at most 168 h ahead), or '' without a profile, with the hook's clock and no process: for
# function prompt { "$(dsqlenv_prompt) PS $($PWD)> " }. Values that a block could not have
# written are not returned (\z: $ would also match before a final newline).
function global:dsqlenv_prompt {
    $name = "$env:DSQLENV_PROFILE"
    if ($name -cnotmatch '^[A-Za-z0-9][A-Za-z0-9._-]*\z') { return '' }
    if ("$env:DSQLENV_EXPIRES_AT" -notmatch '^[0-9]{1,12}\z') { return "$name ?" }
    $left = [long]$env:DSQLENV_EXPIRES_AT - [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
    if ($left -gt 604800) { return "$name ?" }
    if ($left -le 0) { return "$name expired" }
    if ($left -lt 60) { return "$name ${left}s" }
    if ($left -lt 3600) { return "$name $([Math]::Floor($left / 60))m" }
    $hours = [Math]::Floor($left / 3600)
    $minutes = [Math]::Floor(($left % 3600) / 60)
    if ($minutes -eq 0) { return "$name ${hours}h" }
    return "$name ${hours}h${minutes}m"
}
$global:__dsqlenvRetryAt = 0L
$global:__dsqlenvBackoff = 0L
if (-not $global:__dsqlenvPrompt) {
    $global:__dsqlenvPrompt = $function:prompt
    function global:prompt {
        $text = & $global:__dsqlenvPrompt
        __dsqlenvHook
        $text
    }
}
