# test_wallet.sh -- the medical-insurance wallet (医保钱包) end to end through ledgerctl: send,
# accept, spend at a pharmacy in the relative's province, refund back to the wallet; decline;
# the national limits with their statuses; unaccepted sends returning by themselves at 06:00,
# with the daemon running and after a restart, exactly once. The clock is libfaketime's.
. "$(dirname "$0")/lib.sh"

faketime_setup
json_field() { sed -n "s/.*\"$1\":\([-0-9]*\).*/\1/p"; }
start() {
    # Only the wall clock is faked (Shanghai time); libuv's timers keep the real one.
    LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$WORK/clock" FAKETIME_NO_CACHE=1 \
        FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=Asia/Shanghai daemon_start --cross-province 51,62 "$@"
}
# wait_for NAME TEXT COMMAND...: up to 5 s for COMMAND's output to contain TEXT.
wait_for() {
    local name=$1 text=$2
    shift 2
    for _ in $(seq 1 50); do
        OUT=$("$@" 2>&1)
        case "$OUT" in *"$text"*) CHECKS_PASSED=$((CHECKS_PASSED + 1)); return 0 ;; esac
        sleep 0.1
    done
    CHECKS_FAILED=$((CHECKS_FAILED + 1))
    echo "FAIL $name: '$text' not in: $OUT"
}

set_clock "2026-12-02 10:00:00"
start
# H works in Chengdu (Sichuan, 51); their mother B lives in Lanzhou (Gansu, 62).
ctl person add H --name "黄" --region 510100 --scheme employee >/dev/null
ctl account open H >/dev/null
ctl credit H 5000.00 --ref alloc-h >/dev/null
ctl person add B --name "白" --region 620100 --scheme resident >/dev/null
ctl person add X --name "无关" --region 620100 --scheme resident >/dev/null
ctl merchant add GS1 --name "兰州药房" --kind pharmacy --region 620100 >/dev/null
check "bind the mother" 0 ctl family bind H B --relation parent

# ---- send, accept, spend, refund ----
check "a send to a relative not bound is refused" 1 ctl wallet send H X 10.00 --ref wx
expect "NOT_BOUND named" "NOT_BOUND" "$ERR"
check "send 100.00 to the mother's wallet" 0 ctl --json wallet send H B 100.00 --ref w1
expect "the send waits" '"state":"waiting"' "$OUT"
expect "the holder's account after" '"holder_balance_fen":490000' "$OUT"
expect "it returns at 06:00 the next day, business time" '"return_at":"2026-12-03T06:00:00.000000+08:00' "$OUT"
send1=$(echo "$OUT" | json_field send_id)
# A settlement system that lost the reply sends the same request again: the same send, once.
check "the same send sent again" 0 ctl --json wallet send H B 100.00 --ref w1
expect "is the same send" "\"send_id\":$send1," "$OUT"
expect "replayed" '"replayed":true' "$OUT"
expect "and took the money once" '"holder_balance_fen":490000' "$OUT"
check "the same reference for another amount" 1 ctl wallet send H B 99.00 --ref w1
expect "CONFLICT named" "CONFLICT" "$ERR"
check "the holder's account gave it" 0 ctl --json account show H
expect "holder balance 4900.00" '"balance_fen":490000' "$OUT"
check "a second send while one waits" 1 ctl wallet send H B 10.00 --ref w1b
expect "WALLET_SEND_PENDING" "WALLET_SEND_PENDING" "$ERR"
check "the mother's wallet shows it waiting in" 0 ctl --json wallet show B
expect "nothing in the wallet yet" '"balance_fen":0' "$OUT"
expect "waiting in" '"reference":"w1"' "$OUT"
check "accept" 0 ctl --json wallet accept --ref w1
expect "accepted" '"state":"accepted"' "$OUT"
check "accept again answers the same" 0 ctl wallet accept --ref w1
expect "a replay says so" "replayed" "$OUT"
check "the send sent again once accepted" 0 ctl --json wallet send H B 100.00 --ref w1
expect "answers the send as it stands" '"state":"accepted"' "$OUT"
expect "without a second send" '"holder_balance_fen":490000' "$OUT"
check "decline after accepting" 1 ctl wallet decline --ref w1
expect "WALLET_SEND_CLOSED" "WALLET_SEND_CLOSED" "$ERR"
check "the wallet holds 100.00" 0 ctl --json wallet show B
expect "balance 100.00" '"balance_fen":10000' "$OUT"
check "unknown send" 1 ctl wallet accept --ref nosuch
expect "UNKNOWN_WALLET_SEND" "UNKNOWN_WALLET_SEND" "$ERR"

check "the mother spends 30.00 at a Lanzhou pharmacy" 0 \
    ctl --json settle --merchant GS1 --ref s1 --patient B --amount 30.00
expect "from the wallet" '"wallet":true' "$OUT"
expect "counted as her own account's payment" '"acct_pay_fen":3000' "$OUT"
expect "no mutual aid" '"acct_mulaid_pay_fen":0' "$OUT"
settlement=$(echo "$OUT" | json_field settlement_id)
check "a refund of 10.00" 0 ctl --json refund --merchant GS1 --ref r1 --settlement "$settlement" --amount 10.00
check "the refund went back to the wallet" 0 ctl --json wallet show B
expect "wallet 80.00" '"balance_fen":8000' "$OUT"

# ---- the limits of a day ----
check "2000.01 is more than a send may carry" 1 ctl wallet send H B 2000.01 --ref big
expect "WALLET_SEND_LIMIT" "WALLET_SEND_LIMIT" "$ERR"
check "2000.00 may be sent" 0 ctl wallet send H B 2000.00 --ref w2
check "decline it" 0 ctl --json wallet decline --ref w2
expect "declined" '"state":"declined"' "$OUT"
check "the holder has it back" 0 ctl --json account show H
expect "holder balance 4900.00 again" '"balance_fen":490000' "$OUT"
check "the third send of the day" 0 ctl wallet send H B 1.00 --ref w3
check "accepted" 0 ctl wallet accept --ref w3
check "a fourth send the same day" 1 ctl wallet send H B 1.00 --ref w4
expect "WALLET_DAILY_LIMIT" "WALLET_DAILY_LIMIT" "$ERR"
set_clock "2026-12-02 22:30:00"
check "a send at 22:30" 1 ctl wallet send H B 1.00 --ref w4
expect "WALLET_QUIET_HOURS" "WALLET_QUIET_HOURS" "$ERR"

# ---- returns by themselves: while running ----
set_clock "2026-12-03 09:00:00"
check "a new day: sends again" 0 ctl --json wallet send H B 50.00 --ref w5
send5=$(echo "$OUT" | json_field send_id)
check "holder down to 4849.00" 0 ctl --json account show H
expect "4849.00" '"balance_fen":484900' "$OUT"
set_clock "2026-12-04 05:59:50"
sleep 1.5
check "not before 06:00" 0 ctl --json wallet show H
expect "still waiting" '"reference":"w5"' "$OUT"
set_clock "2026-12-04 06:00:01"
wait_for "returned at 06:00 while running" '"balance_fen":489900' ctl --json account show H
check "its entry says returned" 0 ctl tail --from "$send5"
expect "a wallet_send_closed entry" "wallet_send_closed" "$OUT"
expect "state returned" "send-returned" "$OUT"
check "nothing waits any more" 0 ctl --json wallet show H
expect "no send out" '"sends_out":[]' "$OUT"
check "a returned send cannot be accepted" 1 ctl wallet accept --ref w5
expect "WALLET_SEND_CLOSED" "WALLET_SEND_CLOSED" "$ERR"

# ---- returns by themselves: after a restart, once ----
set_clock "2026-12-04 10:00:00"
check "send w6" 0 ctl wallet send H B 70.00 --ref w6
daemon_stop
set_clock "2026-12-05 08:00:00"
start
wait_for "returned on start, for what fell due while down" '"balance_fen":489900' \
    ctl --json account show H
daemon_stop
start
sleep 1.5
returns=$(ctl tail --from 1 | grep -c "send.state: send-returned")
[ "$returns" -eq 2 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL two returns in the log, not $returns"; }

# ---- references of other kinds do not collide with a send's ----
check "a withdrawal under a send's reference" 0 ctl withdraw H --reason long-term-elsewhere --ref w6 --amount 1.00
check "the send is still the send" 1 ctl wallet accept --ref w6
expect "returned, not a withdrawal" "WALLET_SEND_CLOSED" "$ERR"
check "a send under a withdrawal's reference" 0 ctl --json wallet send H B 1.00 --ref w-other
check "withdraw w-other" 0 ctl withdraw H --reason long-term-elsewhere --ref w-other --amount 1.00
check "accept w-other" 0 ctl wallet accept --ref w-other

# ---- the books ----
check "trial balance" 0 ctl --json trial-balance
expect "sums to zero" '"total_fen":0}' "$OUT"
expect "the wallets hold 80.00 + 1.00 + 1.00" '{"class":"wallet","total_fen":8200}' "$OUT"
expect "nothing pending" '{"class":"wallet_pending","total_fen":0}' "$OUT"
check "verify replays the wallet" 0 ctl verify

# ---- damage is named: a stored wallet or send the log does not give ----
check "a send left waiting (a timer)" 0 ctl wallet send H B 3.00 --ref w7
verify_finds_each_missing start wallets wallet_sends timers balances wallet_links

# ---- a wallet that many wait to fill ----
# Where a region lets anyone send to anyone (wallet_requires_binding 0), one person's wallet
# could be sent to by every holder at once: 64 sends may wait for it, and a 65th waits for one
# of them to close.
daemon_stop
start --wallet-requires-binding 0
for i in $(seq -w 1 65); do
    echo "G$i,甘$i,620100,employee,10.00"
done > "$WORK/holders.csv"
check "65 holders in Gansu" 0 ctl migrate persons "$WORK/holders.csv"
sent=0
for i in $(seq -w 1 64); do
    ctl wallet send "G$i" X 1.00 --ref "many-$i" >/dev/null 2>&1 && sent=$((sent + 1))
done
check "64 sends wait for X ($sent sent)" 0 test "$sent" -eq 64
check "the 65th is refused" 1 ctl wallet send G65 X 1.00 --ref many-65
expect "WALLET_SEND_PENDING named" "WALLET_SEND_PENDING" "$ERR"
expect "with the count" "64 sends to X wait already" "$ERR"
check "the 65th holder's money stays" 0 ctl --json account show G65
expect "10.00 still" '"balance_fen":1000' "$OUT"
check "X accepts one" 0 ctl wallet accept --ref many-01
check "then the 65th is taken" 0 ctl wallet send G65 X 1.00 --ref many-65
check "and the books verify" 0 ctl verify

# ---- a wallet whose owner dies or leaves goes with them ----
# The wallet is the person's own money: once they have died, opted out or moved away for good,
# nothing could spend it, and before 7 December nothing could pay it out either.
daemon_stop
start --wallet-sends-per-day 100
# J, a holder in Sichuan with no send waiting, and J's mother M in Gansu, resident scheme.
ctl person add J --name "蒋" --region 510100 --scheme employee >/dev/null
ctl account open J >/dev/null
ctl credit J 500.00 --ref alloc-j >/dev/null
ctl person add M --name "梅" --region 620100 --scheme resident >/dev/null
check "J funds M" 0 ctl family bind J M --relation parent
check "J sends M 50.00" 0 ctl wallet send J M 50.00 --ref wm1
check "M accepts" 0 ctl wallet accept --ref wm1
check "M spends 20.00 of it" 0 ctl --json settle --merchant GS1 --ref sm1 --patient M --amount 20.00
expect "from the wallet" '"wallet":true' "$OUT"
spent=$(echo "$OUT" | json_field settlement_id)
check "a quote held on M's wallet" 0 ctl --json quote --merchant GS1 --ref hm1 --patient M \
    --amount 5.00 --hold 600
held=$(echo "$OUT" | sed -n 's/.*"hold_id":\([0-9]*\).*/\1/p')
check "M dies: person deceased is refused while her wallet holds money" 1 \
    ctl person deceased M --evidence DC-M
expect "names the wallet and the way" \
    "the wallet of M holds 30.00 yuan: record the death with a death withdrawal" "$ERR"
check "the death withdrawal waits for the hold" 1 \
    ctl withdraw M --reason death --heir "子" --ref dm1
expect "ACCOUNT_HELD" "ACCOUNT_HELD" "$ERR"
expect "names the wallet" "5.00 yuan of the wallet of M is held" "$ERR"
check "the hold released" 0 ctl hold release "$held"
check "a part of the wallet is refused" 1 ctl withdraw M --reason death --heir "子" --ref dm1 \
    --amount 1.00
expect "WITHDRAWAL_NOT_ALLOWED" "WITHDRAWAL_NOT_ALLOWED" "$ERR"
check "the death withdrawal pays her wallet to the heir" 0 ctl --json withdraw M --reason death \
    --heir "子" --ref dm1
expect "nothing from an account she never had" '"amount_fen":0,' "$OUT"
expect "the wallet whole" '"wallet_fen":3000,' "$OUT"
check "its entry" 0 ctl --json entry "$(echo "$OUT" | json_fen seq)"
expect "the fund of her region pays the heir what her wallet held" \
    '"postings":[{"class":"wallet","id":"M","amount_fen":-3000},{"class":"fund","id":"620100","amount_fen":3000}]' \
    "$OUT"
expect "J no longer funds her" '"bindings_ended":1,' "$OUT"
check "the same withdrawal again" 0 ctl withdraw M --reason death --heir "子" --ref dm1
expect "answers the first" "replayed" "$OUT"
expect "and says what the wallet gave" "and 30.00 from the wallet of M, paid out with it" "$OUT"
check "her wallet is empty" 0 ctl --json wallet show M
expect "0.00" '"balance_fen":0,' "$OUT"
check "she is recorded as deceased" 0 ctl --json person show M
expect "deceased" '"status":"deceased"' "$OUT"
check "a second death withdrawal" 1 ctl withdraw M --reason death --heir "子" --ref dm2
expect "PERSON_DECEASED" "PERSON_DECEASED" "$ERR"
check "the pharmacy refunds what she spent" 0 ctl --json refund --merchant GS1 --ref rm1 \
    --settlement "$spent" --amount 5.00
expect "owed in cash, not put back in a wallet nobody can use" '"cash_refund_due":true' "$OUT"
check "still empty" 0 ctl --json wallet show M
expect "0.00 still" '"balance_fen":0,' "$OUT"
check "the fund pays her heirs what is owed" 0 ctl payout --person M 5.00 --ref pm1

# An employee who opts out is paid their account and their wallet; a send to them is refused.
ctl person add E --name "鄂" --region 620100 --scheme employee >/dev/null
ctl account open E >/dev/null
ctl credit E 100.00 --ref alloc-e >/dev/null
ctl family bind J E --relation child >/dev/null
check "J sends E 10.00" 0 ctl wallet send J E 10.00 --ref we1
check "E accepts" 0 ctl wallet accept --ref we1
check "E opts out" 0 ctl --json withdraw E --reason opt-out --ref oe1
expect "the account's balance" '"amount_fen":10000,' "$OUT"
expect "and the wallet's" '"wallet_fen":1000,' "$OUT"
expect "the account closes" '"account_closed":true' "$OUT"
check "E's wallet is empty" 0 ctl --json wallet show E
expect "0.00" '"balance_fen":0,' "$OUT"
check "a send to one who opted out" 1 ctl wallet send J E 1.00 --ref we2
expect "PERSON_INACTIVE" "PERSON_INACTIVE" "$ERR"
check "nor may anyone bind them: a beneficiary is insured in their own right" 1 \
    ctl family bind H E --relation child
expect "PERSON_INACTIVE" "PERSON_INACTIVE" "$ERR"
# A send that waited while its beneficiary left cannot be accepted: it returns to the holder.
ctl person add F --name "傅" --region 620100 --scheme employee >/dev/null
ctl account open F >/dev/null
ctl family bind J F --relation child >/dev/null
check "J sends F 2.00" 0 ctl wallet send J F 2.00 --ref wf1
check "F emigrates, nothing in the wallet yet" 0 ctl --json withdraw F --reason emigration --ref ef1
expect "nothing from the wallet" '"wallet_fen":0,' "$OUT"
check "the waiting send cannot be accepted" 1 ctl wallet accept --ref wf1
expect "PERSON_INACTIVE" "PERSON_INACTIVE" "$ERR"
check "J takes it back" 0 ctl wallet decline --ref wf1
# A gift is made when it is accepted: a binding ended, or a holder who died, while the send
# waited leaves it unaccepted, and it returns (to the heirs, as cash owed, after a death).
ctl person add N --name "宁" --region 620100 --scheme resident >/dev/null
check "J binds N" 0 ctl family bind J N --relation sibling
check "J sends N 3.00" 0 ctl wallet send J N 3.00 --ref wn1
check "J unbinds N" 0 ctl family unbind J N
check "N cannot accept a send of a binding that ended" 1 ctl wallet accept --ref wn1
expect "NOT_BOUND" "NOT_BOUND" "$ERR"
check "it goes back to J" 0 ctl --json wallet decline --ref wn1
expect "declined" '"state":"declined"' "$OUT"
ctl person add K --name "柯" --region 620100 --scheme employee >/dev/null
ctl account open K >/dev/null
ctl credit K 10.00 --ref alloc-k >/dev/null
check "K binds N" 0 ctl family bind K N --relation sibling
check "K sends N 4.00" 0 ctl wallet send K N 4.00 --ref wk1
check "K dies" 0 ctl withdraw K --reason death --heir "柯子" --ref dk1
check "N cannot accept it now" 1 ctl wallet accept --ref wk1
expect "the heirs'" "K is deceased; the send returns to the holder's heirs" "$ERR"
check "declined, it is owed to K's heirs in cash" 0 ctl --json wallet decline --ref wk1
expect "cash owed" '"cash_refund_due":true' "$OUT"
check "K's heirs at the counter: how much?" 0 ctl person show K
expect "4.00, and how it is paid" "owed in cash 4.00 (the fund pays it: ledgerctl payout --person K" \
    "$OUT"
check "the fund pays them" 0 ctl payout --person K 4.00 --ref pk1
check "nothing is owed now" 0 ctl --json person show K
expect "0" '"cash_refund_due_fen":0}' "$OUT"
check "and the text says nothing of it" 0 ctl person show K
expect "no line of cash owed" "0" "$(grep -c 'owed in cash' <<< "$OUT")"
check "the books" 0 ctl --json trial-balance
expect "sum to zero" '"total_fen":0}' "$OUT"
check "and verify" 0 ctl verify

# ---- the wallet's statement ----
# What a resident relative, whose only money is the wallet, reads at a counter or on 12333.
check "B's wallet statement, oldest first" 0 ctl --json wallet statement B --oldest-first --limit 3
expect "the send accepted, from H" \
    '"type":"wallet_send_closed","amount_fen":10000,"balance_after_fen":10000,"reference":"w1","holder":"H"}' \
    "$OUT"
expect "spent at the pharmacy" \
    '"type":"settled","amount_fen":-3000,"balance_after_fen":7000,"reference":"s1","merchant":"GS1"}' \
    "$OUT"
expect "refunded back" \
    '"type":"refunded","amount_fen":1000,"balance_after_fen":8000,"reference":"r1","merchant":"GS1"}' \
    "$OUT"
check "M's, newest first" 0 ctl --json wallet statement M
expect "paid out to the heir at her death, and what she spent, and the send: nothing after" \
    '"type":"withdrawn","amount_fen":-3000,"balance_after_fen":0,"reference":"dm1"}' "$OUT"
expect "three lines: the refund owed in cash is no line of the wallet" "3" \
    "$(grep -o '"seq":' <<< "$OUT" | wc -l)"
expect "the spend" '"type":"settled","amount_fen":-2000,"balance_after_fen":3000,"reference":"sm1"' \
    "$OUT"
check "a page of one" 0 ctl --json wallet statement M --limit 1
expect "the newest" '"reference":"dm1"' "$OUT"
next=$(echo "$OUT" | json_fen next_cursor)
check "the next page" 0 ctl --json wallet statement M --limit 2 --cursor "$next"
expect "the spend first" '"reference":"sm1"' "$OUT"
expect "and the last" '"reference":"wm1","holder":"J"}],"next_cursor":0}' "$OUT"
check "B has no account statement" 1 ctl statement B
expect "and is told where hers is" "ledgerctl wallet statement B" "$ERR"
check "in text" 0 ctl wallet statement B --oldest-first --limit 1
expect "from whom" "w1  from H" "$OUT"
ctl person add W0 --name "文" --region 620100 --scheme resident >/dev/null
check "a person whose wallet never moved" 0 ctl --json wallet statement W0
expect "has no lines" '{"lines":[],"next_cursor":0}' "$OUT"
check "an unknown person" 1 ctl wallet statement NOBODY
expect "UNKNOWN_PERSON" "UNKNOWN_PERSON" "$ERR"

# A ledger of format 10, before wallets' statements: the upgrade links them from the log, and
# they read as they did.
ctl --json wallet statement B > "$WORK/b-before.json"
ctl --json wallet statement M --oldest-first > "$WORK/m-before.json"
daemon_stop
check "make the ledger format 10" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" format 10
: > "$WORK/daemon.log"
start --log-level info
expect "upgraded" "from format 10 to 12" "$(cat "$WORK/daemon.log")"
check "B's statement after the upgrade" 0 ctl --json wallet statement B
expect "as before" "$(cat "$WORK/b-before.json")" "$OUT"
check "M's" 0 ctl --json wallet statement M --oldest-first
expect "as before too" "$(cat "$WORK/m-before.json")" "$OUT"
check "verify after the upgrade" 0 ctl verify
check "and walking every stored record" 0 ctl verify --walk

# A link or a head that the log does not give is named.
daemon_stop
rm -rf "$WORK/pristine" && cp -r "$WORK/data" "$WORK/pristine"
check "relink the last link of a wallet" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" \
    relink wallet_links
start
check "verify finds the relinked wallet_links" 4 ctl verify
expect "wallet_links named" "wallet_links of" "$OUT$ERR"
daemon_stop
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
check "another head for B's wallet" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" \
    field balances wallet:B last_seq 3
start
check "verify finds the head" 4 ctl verify
expect "the head named" "the stored balance of wallet:B says entry 3 moved it last" "$OUT$ERR"
check "the statement is refused, not made up" 1 ctl wallet statement B
daemon_stop
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
start
finish
