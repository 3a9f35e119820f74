# test_crash_settle.sh -- kill -9 famledgerd while three pharmacies settle for three families
# (the patient's own account first, then two relatives', then cash) and a fourth client refunds
# settlements of earlier rounds, six times. After every restart no money was made or lost and
# no account is below zero; at the end every acknowledged settlement and refund, retried, is a
# replay of what was acknowledged (the same id, the same split), every settlement in doubt
# settles once, and the ledger verifies.
. "$(dirname "$0")/lib.sh"

FAMILIES=3
MERCHANTS=3
ROUNDS=6
TRIES=40 # settlements a pharmacy tries in a round, at most

daemon_start
for m in $(seq 1 $MERCHANTS); do
    ctl merchant add "PH$m" --name "药房$m" --kind pharmacy --region 110101 >/dev/null
done
# Each family: a patient with 5.00 of their own, two parents with 15.00 each: spent within a
# few rounds, so that later settlements fall back to cash.
for k in $(seq 1 $FAMILIES); do
    for who in P F M; do
        ctl person add "$who$k" --name "家人" --region 110101 --scheme employee >/dev/null
        ctl account open "$who$k" >/dev/null
    done
    ctl credit "P$k" 5.00 --ref "c-p$k" >/dev/null
    ctl credit "F$k" 15.00 --ref "c-f$k" >/dev/null
    ctl credit "M$k" 15.00 --ref "c-m$k" >/dev/null
    ctl family bind "F$k" "P$k" --relation child >/dev/null
    ctl family bind "M$k" "P$k" --relation child >/dev/null
done
TOTAL_FEN=$((FAMILIES * (500 + 1500 + 1500)))

# What a settlement of a pharmacy's round and try is, the same whenever it is sent again.
patient_of() { echo "P$((($3 + $1) % FAMILIES + 1))"; }       # MERCHANT ROUND TRY
amount_of() { printf '%d.%02d' $(($3 % 7 + 1)) $((($2 * 13 + $3 * 7 + $1) % 100)); }

# The fields a replay must repeat: id, the split, and the legs with their balances after.
split_of() {
    sed -n 's/.*"settlement_id":\([0-9]*\),.*"acct_pay_fen":\([0-9]*\),'\
'"acct_mulaid_pay_fen":\([0-9]*\),"cash_pay_fen":\([0-9]*\),.*"legs":\(\[[^]]*\]\).*/'\
'\1 \2 \3 \4 \5/p'
}

# A worker stops when the daemon is gone (exit 3: unreachable, the connection lost); a refusal
# (exit 1) is a defect here, where every settlement can fall back to cash, and is kept.
settler() { # settler MERCHANT ROUND: settle until the daemon dies, logging what is acknowledged
    local m=$1 r=$2 i=0 reference reply status
    while [ $i -lt $TRIES ]; do
        i=$((i + 1))
        reference="s$m-$r-$i"
        echo "$m $r $i" >> "$WORK/tried"
        reply=$(ctl --json settle --merchant "PH$m" --ref "$reference" \
                    --patient "$(patient_of "$m" "$r" "$i")" \
                    --amount "$(amount_of "$m" "$r" "$i")" 2>&1)
        status=$?
        [ $status = 1 ] && echo "$reference: $reply" >> "$WORK/rejected"
        [ $status = 0 ] || return 0
        echo "$m $r $i $(echo "$reply" | split_of)" >> "$WORK/settled"
    done
}

refunder() { # refunder: 0.01 back on each settlement of earlier rounds that accounts paid
    local m r i id acct mulaid rest reply status
    while read -r m r i id acct mulaid rest; do
        [ $((acct + mulaid)) -gt 0 ] || continue
        reply=$(ctl --json refund --merchant "PH$m" --ref "rf-$id" --settlement "$id" \
                    --amount 0.01 2>&1)
        status=$?
        [ $status = 1 ] && echo "rf-$id: $reply" >> "$WORK/rejected"
        [ $status = 0 ] || return 0
        echo "$m $id" >> "$WORK/refunded"
    done < "$WORK/refundable"
}

# Money in the books is the money credited: what the accounts hold and what the pharmacies are
# owed, with nothing below zero.
conserved() {
    local sum=0 fen who k m
    for k in $(seq 1 $FAMILIES); do
        for who in P F M; do
            fen=$(ctl --json account show "$who$k" | json_fen balance_fen)
            [ "$fen" -ge 0 ] || { echo "$who$k holds $fen fen"; return 1; }
            sum=$((sum + fen))
        done
    done
    for m in $(seq 1 $MERCHANTS); do
        fen=$(ctl --json merchant balance "PH$m" | json_fen payable_fen)
        sum=$((sum + fen))
    done
    [ "$sum" = "$TOTAL_FEN" ] || { echo "the books hold $sum fen of $TOTAL_FEN"; return 1; }
}

: > "$WORK/tried"
: > "$WORK/rejected"
: > "$WORK/settled"
: > "$WORK/refunded"
for round in $(seq 1 $ROUNDS); do
    cp "$WORK/settled" "$WORK/refundable"
    workers=""
    settled=$(wc -l < "$WORK/settled")
    for m in $(seq 1 $MERCHANTS); do settler "$m" "$round" & workers="$workers $!"; done
    refunder & workers="$workers $!"
    sleep "0.$((3 + round % 5))"
    # Three settlements a pharmacy a round at least: the families' accounts run dry, and later
    # rounds settle in cash.
    progress_wait "$WORK/settled" $((settled + 3 * MERCHANTS)) $workers
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null
    DAEMON_PID=""
    wait $workers
    daemon_start
    check "round $round: no money made or lost, no account below zero" 0 conserved
    # A refund sent again in a later round is a replay and is logged again: keep each once.
    sort -u "$WORK/refunded" -o "$WORK/refunded"
done
echo "$(wc -l < "$WORK/settled") acknowledged settlements of $(wc -l < "$WORK/tried") tried," \
     "$(wc -l < "$WORK/refunded") acknowledged refunds, over $ROUNDS kill -9 rounds"
check "no settlement or refund was refused" 0 test ! -s "$WORK/rejected"
[ -s "$WORK/rejected" ] && head -n 3 "$WORK/rejected"
# The rounds paid from each kind of leg: the patient's own account, a relative's, cash.
check "some settlement was paid from the patient's own account" 0 \
    awk '$5 > 0 {found = 1} END {exit !found}' "$WORK/settled"
check "some by a relative" 0 awk '$6 > 0 {found = 1} END {exit !found}' "$WORK/settled"
check "some in cash" 0 awk '$7 > 0 {found = 1} END {exit !found}' "$WORK/settled"
check "some refunded" 0 test -s "$WORK/refunded"

# Every acknowledged settlement, sent again, is a replay with the id and split acknowledged.
differ=0
while read -r m r i split; do
    reply=$(ctl --json settle --merchant "PH$m" --ref "s$m-$r-$i" --patient \
                "$(patient_of "$m" "$r" "$i")" --amount "$(amount_of "$m" "$r" "$i")")
    case "$reply" in *'"replayed":true'*) ;; *) differ=$((differ + 1)); continue ;; esac
    [ "$(echo "$reply" | split_of)" = "$split" ] || {
        differ=$((differ + 1)); echo "s$m-$r-$i acknowledged as $split, replayed as $reply"; }
done < "$WORK/settled"
[ "$differ" = 0 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1))
      echo "FAIL $differ acknowledged settlements not replayed as acknowledged"; }

# Every settlement in doubt (tried, no reply) settles now, and then again as a replay: once.
sort "$WORK/tried" | while read -r m r i; do
    grep -q "^$m $r $i " "$WORK/settled" || echo "$m $r $i"
done > "$WORK/doubt"
resend_doubt() { # resend_doubt: the settlements in doubt sent again; prints each reply
    while read -r m r i; do
        ctl --json settle --merchant "PH$m" --ref "s$m-$r-$i" \
            --patient "$(patient_of "$m" "$r" "$i")" --amount "$(amount_of "$m" "$r" "$i")" ||
            echo "s$m-$r-$i failed"
        echo
    done < "$WORK/doubt"
}
echo "$(wc -l < "$WORK/doubt") settlements in doubt"
resend_doubt > "$WORK/doubt-first"
check "every settlement in doubt settles when sent again" 1 grep -q ' failed$' "$WORK/doubt-first"
resend_doubt > "$WORK/doubt-again"
doubted=$(wc -l < "$WORK/doubt")
replays=$(grep -c '"replayed":true' "$WORK/doubt-again")
check "and sent once more, each is a replay ($replays of $doubted)" 0 test "$replays" = "$doubted"

# Every acknowledged refund is a replay.
lost=0
while read -r m id; do
    ctl --json refund --merchant "PH$m" --ref "rf-$id" --settlement "$id" --amount 0.01 |
        grep -q '"replayed":true' || lost=$((lost + 1))
done < "$WORK/refunded"
[ "$lost" = 0 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL $lost acknowledged refunds not replayed"; }

check "after the retries no money was made or lost" 0 conserved
check "the ledger verifies after the crashes" 0 ctl verify
check "and its books balance" 0 ctl --json trial-balance
expect "zero" '"total_fen":0}' "$OUT"
finish
