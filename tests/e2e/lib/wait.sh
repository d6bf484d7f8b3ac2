# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Bounded waits on files that grow (the guest's serial log, service logs).
# Every wait polls every half second and gives up after its timeout.

# wait_for_line FILE REGEX SECONDS [FROM_BYTE]
# Succeeds as soon as a line of FILE (from byte FROM_BYTE on, default 0)
# matches the extended regular expression; fails after SECONDS.
wait_for_line() {
        local file=$1 re=$2 secs=$3 from=${4:-0} deadline
        deadline=$((SECONDS + secs))
        while :; do
                if since "$file" "$from" | grep -Eq -- "$re"; then
                        return 0
                fi
                [ $SECONDS -ge $deadline ] && return 1
                sleep 0.5
        done
}

# wait_until SECONDS COMMAND...: run COMMAND until it succeeds or time is up.
wait_until() {
        local secs=$1 deadline
        shift
        deadline=$((SECONDS + secs))
        while :; do
                "$@" && return 0
                [ $SECONDS -ge $deadline ] && return 1
                sleep 0.5
        done
}

# file_size FILE: bytes in FILE now (0 when missing), to read only what follows.
file_size() {
        if [ -f "$1" ]; then stat -c %s "$1"; else echo 0; fi
}

# since FILE OFFSET: what FILE holds after byte OFFSET, carriage returns
# removed; all of it when FILE is now shorter (it was truncated or replaced).
since() {
        local size
        size=$(file_size "$1")
        if [ "$size" -lt "$2" ]; then
                tr -d '\r' <"$1"
        elif [ "$size" -gt 0 ]; then
                tail -c +$(($2 + 1)) "$1" | tr -d '\r'
        fi
}
