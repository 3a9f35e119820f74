# test_crash_holds.sh -- kill -9 famledgerd while two tills hold quotes for two seconds and
# capture every other one, five times. The holds left open must expire after the restarts, by
# the timers the daemon keeps in the ledger, and give their money back; every acknowledged
# capture replays; no money is made or lost; the ledger verifies.
. "$(dirname "$0")/lib.sh"

FAMILIES=2
TILLS=2
ROUNDS=5
TRIES=30

daemon_start
ctl merchant add PH1 --name "药房" --kind pharmacy --region 110101 >/dev/null
# A patient with 5.00, a parent with 100.00: holds take from both.
for k in $(seq 1 $FAMILIES); do
    for who in P R; do
        ctl person add "$who$k" --name "家人" --region 110101 --scheme employee >/dev/null
        ctl account open "$who$k" >/dev/null
    done
    ctl credit "P$k" 5.00 --ref "c-p$k" >/dev/null
    ctl credit "R$k" 100.00 --ref "c-r$k" >/dev/null
    ctl family bind "R$k" "P$k" --relation child >/dev/null
done
TOTAL_FEN=$((FAMILIES * (500 + 10000)))

patient_of() { echo "P$((($1 + $3) % FAMILIES + 1))"; } # TILL ROUND TRY
amount_of() { printf '0.%02d' $((($2 * 7 + $3) % 90 + 10)); }
hold_id_of() { sed -n 's/.*"hold_id":\([0-9]*\).*/\1/p'; }

# till TILL ROUND: hold quotes for 2 s and capture the even ones, until the daemon dies. A
# refusal (exit 1) is kept: every quote here can fall back to cash.
till() {
    local t=$1 r=$2 i=0 reply status hold
    while [ $i -lt $TRIES ]; do
        i=$((i + 1))
        reply=$(ctl --json quote --merchant PH1 --ref "q$t-$r-$i" \
                    --patient "$(patient_of "$t" "$r" "$i")" \
                    --amount "$(amount_of "$t" "$r" "$i")" --hold 2 2>&1)
        status=$?
        [ $status = 1 ] && echo "q$t-$r-$i: $reply" >> "$WORK/rejected"
        [ $status = 0 ] || return 0
        hold=$(echo "$reply" | hold_id_of)
        if [ $((i % 2)) = 1 ]; then
            echo "$t $r $i $hold" >> "$WORK/left"
            continue
        fi
        reply=$(ctl --json settle --merchant PH1 --ref "c$t-$r-$i" \
                    --patient "$(patient_of "$t" "$r" "$i")" \
                    --amount "$(amount_of "$t" "$r" "$i")" --hold "$hold" 2>&1)
        status=$?
        [ $status = 1 ] && echo "c$t-$r-$i: $reply" >> "$WORK/rejected"
        [ $status = 0 ] || return 0
        echo "$t $r $i $hold" >> "$WORK/captured"
    done
}

# The accounts and the pharmacy's payable hold what was credited; with `settled`, nothing is
# held any more either.
conserved() {
    local sum=0 fen who k json
    for k in $(seq 1 $FAMILIES); do
        for who in P R; do
            json=$(ctl --json account show "$who$k")
            fen=$(echo "$json" | json_fen balance_fen)
            [ "$fen" -ge 0 ] || { echo "$who$k holds $fen fen"; return 1; }
            case "$1:$json" in
                settled:*'"held_fen"'*) echo "$who$k still holds: $json"; return 1 ;;
            esac
            sum=$((sum + fen))
        done
    done
    fen=$(ctl --json merchant balance PH1 | json_fen payable_fen)
    sum=$((sum + fen))
    [ "$sum" = "$TOTAL_FEN" ] || { echo "the books hold $sum fen of $TOTAL_FEN"; return 1; }
}

: > "$WORK/rejected"
: > "$WORK/left"
: > "$WORK/captured"
for round in $(seq 1 $ROUNDS); do
    tills=""
    captured=$(wc -l < "$WORK/captured")
    for t in $(seq 1 $TILLS); do till "$t" "$round" & tills="$tills $!"; done
    sleep "0.$((3 + round % 4))"
    progress_wait "$WORK/captured" $((captured + 1)) $tills # one capture a round at least
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null
    DAEMON_PID=""
    wait $tills
    daemon_start
    check "round $round: no money made or lost, no account below zero" 0 conserved open
done
echo "$(wc -l < "$WORK/left") holds left open, $(wc -l < "$WORK/captured") captured," \
     "over $ROUNDS kill -9 rounds"
check "no quote or capture was refused" 0 test ! -s "$WORK/rejected"
[ -s "$WORK/rejected" ] && head -n 3 "$WORK/rejected"
check "some holds were left open" 0 test -s "$WORK/left"
check "some were captured" 0 test -s "$WORK/captured"

# Two seconds after the last round every hold has expired, the last ones by this daemon's
# timers, whichever daemon placed them.
deadline=$((SECONDS + 30))
until conserved settled >/dev/null || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.2; done
check "every hold left open expired and gave its money back" 0 conserved settled

# An expired hold cannot be captured; an acknowledged capture replays.
open=0
while read -r t r i hold; do
    if ctl settle --merchant PH1 --ref "late-$hold" --patient "$(patient_of "$t" "$r" "$i")" \
           --amount "$(amount_of "$t" "$r" "$i")" --hold "$hold" >/dev/null 2>"$WORK/late.err" ||
       ! grep -q 'HOLD_CLOSED' "$WORK/late.err"; then
        open=$((open + 1))
        echo "hold $hold: $(cat "$WORK/late.err")"
    fi
done < "$WORK/left"
check "no hold left open can be captured now" 0 test "$open" = 0
lost=0
while read -r t r i hold; do
    ctl --json settle --merchant PH1 --ref "c$t-$r-$i" --patient "$(patient_of "$t" "$r" "$i")" \
        --amount "$(amount_of "$t" "$r" "$i")" --hold "$hold" | grep -q '"replayed":true' ||
        lost=$((lost + 1))
done < "$WORK/captured"
check "every acknowledged capture replays ($lost did not)" 0 test "$lost" = 0

check "after the retries no money was made or lost" 0 conserved settled
check "the ledger verifies after the crashes" 0 ctl verify
check "and its books balance" 0 ctl --json trial-balance
expect "zero" '"total_fen":0}' "$OUT"
finish
