"""foreign_client.py -- famledgerd spoken to from proto/famledger.proto and docs/PROTOCOL.md
alone, through Google's protobuf runtime instead of protobuf-c: what a settlement system
written in another language meets.

Usage: python3 foreign_client.py GENERATED_DIR SOCKET [pharmacy | flood BUDGET_MIB]
GENERATED_DIR holds famledger_pb2.py (protoc --python_out). Without a mode the peer is an
administrator and builds the family; with `pharmacy`, the peer may only settle for PH1, and the
family, and PH2's settlement P2-1, are there already; with `flood`, an administrator sends large
batches on many connections at once to a daemon whose pending_requests_mib_max is BUDGET_MIB.
Prints a line for each failed check and the counts; exits 1 when any check failed.
test_foreign_client.sh runs it.
"""
import hashlib
import os
import random
import select
import socket
import struct
import sys
import time

sys.path.insert(0, sys.argv[1])
import famledger_pb2 as pb  # noqa: E402 (generated at test time)

SOCKET = sys.argv[2]
FRAME_REPLY_MAX = 64 << 20
passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}" + (f": {detail}" if detail else ""))
    return condition


def status_name(number):
    return pb.Status.Name(number) if number in pb.Status.values() else str(number)


class Connection:
    """One connection: 4-byte big-endian lengths, a Request out, a Response back."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(SOCKET)
        self.next_id = 1

    def close(self):
        self.sock.close()

    def send_bytes(self, payload):
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)

    def read_exactly(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def read_frame(self):
        """The next frame's bytes, or None when the daemon closed the connection."""
        prefix = self.read_exactly(4)
        if prefix is None:
            return None
        (length,) = struct.unpack(">I", prefix)
        if length > FRAME_REPLY_MAX:
            raise ValueError(f"a reply of {length} bytes")
        return self.read_exactly(length)

    def read_response(self):
        frame = self.read_frame()
        if frame is None:
            return None
        response = pb.Response()
        response.ParseFromString(frame)
        return response

    def request(self, body, message, request_id=None):
        if request_id is None:
            request_id = self.next_id
            self.next_id += 1
        request = pb.Request(request_id=request_id, operator_id="foreign-client")
        getattr(request, body).CopyFrom(message)
        getattr(request, body).SetInParent()  # an empty body is still the body
        return request

    def call(self, body, message):
        request = self.request(body, message)
        self.send_bytes(request.SerializeToString())
        response = self.read_response()
        if response is None:
            raise ConnectionError(f"{body}: the daemon closed the connection")
        check(f"{body}: the reply echoes request_id {request.request_id}",
              response.request_id == request.request_id, str(response.request_id))
        return response


def expect_status(name, response, status):
    return check(name, response is not None and response.status == status,
                 "no reply" if response is None else
                 f"{status_name(response.status)} ({response.error}), expected "
                 f"{status_name(status)}")


def ok(name, response):
    return expect_status(name, response, pb.STATUS_OK)


def settle_request(reference, patient, amount_fen, merchant="PH1"):
    return pb.SettleRequest(merchant_code=merchant, merchant_reference=reference,
                            patient=patient, amount_fen=amount_fen)


def account_balance(conn, person):
    response = conn.call("account_get", pb.AccountGetRequest(person_no=person))
    ok(f"account_get {person}", response)
    return response.account.account.balance_fen


def family(conn):
    """A holder H (employee) who funds a resident parent K, and a pharmacy."""
    ok("person_add H", conn.call("person_add", pb.PersonAddRequest(
        person_no="H", name="张三", region="110101", scheme=pb.SCHEME_EMPLOYEE)))
    ok("person_add K", conn.call("person_add", pb.PersonAddRequest(
        person_no="K", name="张父", region="110101", scheme=pb.SCHEME_RESIDENT)))
    ok("account_open H", conn.call("account_open", pb.AccountOpenRequest(person_no="H")))
    ok("bind H funds K", conn.call("bind", pb.BindRequest(
        holder="H", beneficiary="K", relation=pb.RELATION_PARENT)))
    ok("merchant_add PH1", conn.call("merchant_add", pb.MerchantAddRequest(
        code="PH1", name="一心药房", kind=pb.MERCHANT_PHARMACY, region="110101")))


def credits(conn):
    first = conn.call("credit", pb.CreditRequest(person_no="H", amount_fen=10000, reference="c1"))
    ok("credit 100.00", first)
    check("the credit says the balance after", first.credit.balance_after_fen == 10000,
          str(first.credit))
    again = conn.call("credit", pb.CreditRequest(person_no="H", amount_fen=10000, reference="c1"))
    ok("the credit sent again", again)
    check("is replayed, with the same entry", again.replayed and again.credit.seq ==
          first.credit.seq, str(again))
    other = conn.call("credit", pb.CreditRequest(person_no="H", amount_fen=20000, reference="c1"))
    expect_status("another credit under the same reference", other, pb.STATUS_CONFLICT)
    missing = conn.call("credit", pb.CreditRequest(person_no="H", reference="c2"))
    expect_status("a credit without an amount (proto3 leaves 0 out)", missing,
                  pb.STATUS_INVALID_ARGUMENT)
    check("the balance moved once", account_balance(conn, "H") == 10000)


def settlement(conn):
    quote = conn.call("quote", settle_request("s1", "K", 15000))
    ok("quote 150.00 for K", quote)
    legs = [(leg.holder, leg.amount_fen, leg.mutual_aid)
            for leg in quote.settlement.settlement.legs]
    check("the quote takes H's 100.00 as mutual aid", legs == [("H", 10000, True)], str(legs))
    settled = conn.call("settle", settle_request("s1", "K", 15000))
    ok("settle it", settled)
    paid = settled.settlement.settlement
    check("the settlement splits as quoted",
          [(leg.holder, leg.amount_fen, leg.mutual_aid) for leg in paid.legs] == legs and
          paid.acct_mulaid_pay_fen == 10000 and paid.cash_pay_fen == 5000, str(paid))
    again = conn.call("settle", settle_request("s1", "K", 15000))
    check("the settlement sent again is replayed with its id",
          again.status == pb.STATUS_OK and again.replayed and
          again.settlement.settlement.settlement_id == paid.settlement_id, str(again))
    expect_status("another settlement under the same reference",
                  conn.call("settle", settle_request("s1", "K", 15001)), pb.STATUS_CONFLICT)
    expect_status("a settlement for nobody",
                  conn.call("settle", settle_request("s2", "NOBODY", 100)),
                  pb.STATUS_UNKNOWN_PERSON)
    check("H's account is empty", account_balance(conn, "H") == 0)
    refund = conn.call("refund", pb.RefundRequest(merchant_code="PH1", merchant_reference="r1",
                                                  settlement_id=paid.settlement_id,
                                                  amount_fen=3000))
    ok("refund 30.00", refund)
    check("the refund goes back to H", [(leg.holder, leg.amount_fen) for leg in
                                        refund.refund.refund.legs] == [("H", 3000)],
          str(refund.refund))
    expect_status("a refund of more than the accounts paid",
                  conn.call("refund", pb.RefundRequest(
                      merchant_code="PH1", merchant_reference="r2",
                      settlement_id=paid.settlement_id, amount_fen=7001)),
                  pb.STATUS_REFUND_EXCEEDS_PAID)
    check("H's account holds the refund", account_balance(conn, "H") == 3000)
    found = conn.call("settlement_get", pb.SettlementGetRequest(merchant_code="PH1",
                                                                merchant_reference="s1"))
    ok("settlement_get by the merchant's reference", found)
    check("it shows the refund", found.settlement.settlement.refunded_fen == 3000,
          str(found.settlement))
    return paid.settlement_id


def retried_after_a_lost_reply(conn):
    """A settlement sent, the connection dropped before the reply, then sent again: once."""
    ok("credit H for the retries", conn.call("credit", pb.CreditRequest(
        person_no="H", amount_fen=5000, reference="c-retry")))
    before = account_balance(conn, "H")
    lost = Connection()
    lost.send_bytes(lost.request("settle", settle_request("s-lost", "K", 2000))
                    .SerializeToString())
    lost.close()
    ids = set()
    for attempt in range(3):
        again = Connection()
        response = again.call("settle", settle_request("s-lost", "K", 2000))
        again.close()
        if ok(f"the settlement sent again ({attempt + 1})", response):
            ids.add(response.settlement.settlement.settlement_id)
            if attempt > 0:
                check("a later attempt is replayed", response.replayed)
    check("every attempt names one settlement", len(ids) == 1, str(ids))
    check("H paid it once", account_balance(conn, "H") == before - 2000)


def pipelined(conn):
    """Many requests in one write; replies in request order, each seeing the writes before."""
    before = account_balance(conn, "H")
    requests = []
    for i in range(60):
        if i % 3 == 2:
            requests.append(conn.request("account_get", pb.AccountGetRequest(person_no="H")))
        else:
            requests.append(conn.request("credit", pb.CreditRequest(
                person_no="H", amount_fen=1, reference=f"p{i}")))
    conn.sock.sendall(b"".join(struct.pack(">I", len(data)) + data
                               for data in (r.SerializeToString() for r in requests)))
    credited = 0
    in_order = True
    balances_right = True
    for request in requests:
        response = conn.read_response()
        if response is None or response.request_id != request.request_id or response.status:
            in_order = False
            break
        if request.WhichOneof("body") == "credit":
            credited += 1
        elif response.account.account.balance_fen != before + credited:
            balances_right = False
    check("sixty pipelined requests are answered in order, each OK", in_order)
    check("each read sees the credits sent before it", balances_right)


def batched(conn):
    items = [conn.request("credit", pb.CreditRequest(person_no="H", amount_fen=100,
                                                       reference=f"b{i}")) for i in range(4)]
    items.insert(2, conn.request("credit", pb.CreditRequest(person_no="NOBODY", amount_fen=100,
                                                              reference="b-nobody")))
    before = account_balance(conn, "H")
    response = conn.call("batch", pb.BatchRequest(requests=items))
    ok("a batch of five credits", response)
    replies = response.batch.replies
    check("one reply an item, in order, with its own id",
          [reply.request_id for reply in replies] == [item.request_id for item in items],
          str([reply.request_id for reply in replies]))
    check("the item for nobody alone is refused",
          [reply.status for reply in replies] ==
          [0, 0, pb.STATUS_UNKNOWN_PERSON, 0, 0], str([reply.status for reply in replies]))
    check("the four others moved the balance", account_balance(conn, "H") == before + 400)


def hostile_frames():
    """Frames Google's runtime would not build by itself, sent as a foreign client might."""
    conn = Connection()
    request = conn.request("head", pb.HeadRequest(), request_id=0)
    conn.send_bytes(request.SerializeToString())
    expect_status("request_id 0", conn.read_response(), pb.STATUS_INVALID_ARGUMENT)

    body = pb.SettleRequest()
    body.ParseFromString(settle_request("u1", "K", 100).SerializeToString() + b"\x98\x06\x01")
    request = conn.request("settle", body)
    conn.send_bytes(request.SerializeToString())
    response = conn.read_response()
    expect_status("a SettleRequest with a field 99", response, pb.STATUS_MALFORMED_REQUEST)
    check("the refusal names the field", response is not None and
          "field 99 of SettleRequest" in response.error, response and response.error)

    # Field 99 of Request, length-delimited: a body this daemon does not know.
    conn.send_bytes(b"\x08\x07" + b"\x9a\x06\x00")
    expect_status("a body the daemon does not know", conn.read_response(),
                  pb.STATUS_UNSUPPORTED)
    conn.send_bytes(b"\x08\x08\x6a\x05\x0a\x03\xff\xfe\xfd")  # account_get
    expect_status("a person_no that is not UTF-8", conn.read_response(),
                  pb.STATUS_MALFORMED_REQUEST)
    conn.send_bytes(b"\x08\x09\x8a\x01\x7f")
    expect_status("a body cut short", conn.read_response(), pb.STATUS_MALFORMED_REQUEST)
    ok("the connection still serves", conn.call("head", pb.HeadRequest()))

    # Two bodies of the oneof: the last one is the request, as Google's runtime decides too.
    conn.send_bytes(b"\x08\x0a\x8a\x01\x00" + b"\x6a\x03\x0a\x01H")  # head, account_get H
    response = conn.read_response()
    check("of two bodies the last is answered", response is not None and
          response.WhichOneof("body") == "account", response)
    nested = pb.Request(request_id=11)
    inner = nested
    for depth in range(40):
        inner = inner.batch.requests.add(request_id=100 + depth)
    inner.head.SetInParent()
    conn.send_bytes(nested.SerializeToString())
    response = conn.read_response()
    expect_status("batches nested 40 deep", response, pb.STATUS_MALFORMED_REQUEST)
    check("are refused for their depth", response is not None and
          "nested too deeply" in response.error, response and response.error)
    inner_batch = conn.request("batch", pb.BatchRequest())
    response = conn.call("batch", pb.BatchRequest(requests=[inner_batch]))
    if ok("a batch holding a batch", response):
        expect_status("the batch in it is refused", response.batch.replies[0],
                      pb.STATUS_UNSUPPORTED)

    conn.sock.sendall(struct.pack(">I", (1 << 20) + 1))
    response = conn.read_response()
    expect_status("a length over a MiB is told", response, pb.STATUS_FRAME_TOO_LARGE)
    check("on request_id 0", response is not None and response.request_id == 0)
    check("and the connection closed", conn.read_frame() is None)
    conn.close()


def refusal_cases():
    """Requests a client of ours would never send, one field wrong in each: (what, body, message,
    the status, words of the error). ledgerctl checks its text before it sends, so only a foreign
    client reaches these checks of the daemon. Enums are open in proto3: an unknown or negative
    value arrives as it is."""
    S = pb.STATUS_INVALID_ARGUMENT
    long_ref = "r" * 65
    too_much = 10_000_000_001  # 100000000.01 yuan

    def built(message, **base):
        """A builder of `message` from `base`, any field replaced: person(name="")."""
        return lambda **fields: message(**{**base, **fields})

    person = built(pb.PersonAddRequest, person_no="NEW1", name="新人", region="110101",
                   scheme=pb.SCHEME_EMPLOYEE)
    credit = built(pb.CreditRequest, person_no="H", amount_fen=100, reference="bad-credit")
    bind = built(pb.BindRequest, holder="H", beneficiary="K2", relation=pb.RELATION_CHILD)
    merchant = built(pb.MerchantAddRequest, code="PHNEW", name="新药房",
                     kind=pb.MERCHANT_PHARMACY, region="110101")
    settle = built(pb.SettleRequest, merchant_code="PH1", merchant_reference="bad-settle",
                   patient="K", amount_fen=100)
    refund = built(pb.RefundRequest, merchant_code="PH1", merchant_reference="bad-refund",
                   settlement_id=1, amount_fen=1)
    payout = built(pb.PayoutRequest, merchant_code="PH1", amount_fen=1, reference="bad-payout")
    withdraw = built(pb.WithdrawRequest, person_no="H", reason=pb.WITHDRAWAL_LONG_TERM_ELSEWHERE,
                     reference="bad-withdraw", amount_fen=1)
    wallet = built(pb.WalletSendRequest, holder="H", beneficiary="K", amount_fen=100,
                   reference="bad-send")
    migrate = built(pb.MigrateRequest, person_no="MIG1", name="迁入", region="110101",
                    scheme=pb.SCHEME_EMPLOYEE)

    return [
        ("person: empty number", "person_add", person(person_no=""), S, "person_no"),
        ("person: a dash in the number", "person_add", person(person_no="H-1"), S, "person_no"),
        ("person: 33 characters", "person_add", person(person_no="A" * 33), S, "person_no"),
        ("person: no name", "person_add", person(name=""), S, "name"),
        ("person: a control character", "person_add", person(name="张\x01三"), S, "name"),
        ("person: a name of 129 bytes", "person_add", person(name="名" * 43), S, "name"),
        ("person: a region of 4 digits", "person_add", person(region="1101"), S, "region"),
        ("person: a region with a letter", "person_add", person(region="11010a"), S, "region"),
        ("person: no scheme", "person_add", person(scheme=0), S, "scheme"),
        ("person: scheme 99", "person_add", person(scheme=99), S, "scheme"),
        ("person: scheme -1", "person_add", person(scheme=-1), S, "scheme"),
        ("person_get: empty", "person_get", pb.PersonGetRequest(), S, "person number"),
        ("account_open: a space", "account_open", pb.AccountOpenRequest(person_no="H 1"), S,
         "person number"),
        ("credit: negative", "credit", credit(amount_fen=-1), S, "amount"),
        ("credit: over the limit", "credit", credit(amount_fen=too_much), S, "amount"),
        ("credit: no reference", "credit", credit(reference=""), S, "reference"),
        ("credit: a control byte", "credit", credit(reference="c\x01"), S, "reference"),
        ("credit: a reference of 65", "credit", credit(reference=long_ref), S, "reference"),
        ("credit: kind 99", "credit", credit(kind=99), S, "kind"),
        ("credit: kind -1", "credit", credit(kind=-1), S, "kind"),
        ("credit batch: empty", "credit_batch", pb.CreditBatchRequest(), S, "1 to 1000"),
        ("credit batch: 1001", "credit_batch", pb.CreditBatchRequest(
            credits=[credit(reference=f"cb{i}") for i in range(1001)]), S, "1 to 1000"),
        ("bind: no relation", "bind", bind(relation=0), pb.STATUS_UNKNOWN_RELATION, "relation"),
        ("bind: relation 99", "bind", bind(relation=99), pb.STATUS_UNKNOWN_RELATION,
         "relation"),
        ("bind: relation -5", "bind", bind(relation=-5), pb.STATUS_UNKNOWN_RELATION,
         "relation"),
        ("bind: evidence of 65", "bind", bind(evidence=long_ref), S, "evidence"),
        ("bind: evidence with DEL", "bind", bind(evidence="e\x7f"), S, "evidence"),
        ("bind: channel 3", "bind", bind(channel=3), S, "channel"),
        ("bind: channel -1", "bind", bind(channel=-1), S, "channel"),
        ("bind: empty holder", "bind", bind(holder=""), S, "person number"),
        ("bind: oneself", "bind", bind(beneficiary="H"), pb.STATUS_SELF_BINDING, "own account"),
        ("funding order: nobody", "funding_order", pb.FundingOrderRequest(beneficiary="K"), S,
         "exactly once"),
        ("funding order: twice", "funding_order",
         pb.FundingOrderRequest(beneficiary="K", holders=["H", "H"]), S, "exactly once"),
        ("aid limit: negative", "family_limit",
         pb.FamilyLimitRequest(holder="H", beneficiary="K", monthly_fen=-1), S, "limit"),
        ("aid limit: over the limit", "family_limit",
         pb.FamilyLimitRequest(holder="H", beneficiary="K", yearly_fen=too_much), S, "limit"),
        ("merchant: empty code", "merchant_add", merchant(code=""), S, "code"),
        ("merchant: no name", "merchant_add", merchant(name=""), S, "name"),
        ("merchant: a region of 5", "merchant_add", merchant(region="12345"), S, "region"),
        ("merchant: no kind", "merchant_add", merchant(kind=0), S, "kind"),
        ("merchant: kind 4", "merchant_add", merchant(kind=4), S, "kind"),
        ("merchant: kind -1", "merchant_add", merchant(kind=-1), S, "kind"),
        ("merchant list: after a space", "merchant_list", pb.MerchantListRequest(after="a b"),
         S, "after"),
        ("merchant status: empty code", "merchant_status", pb.MerchantStatusRequest(), S,
         "merchant code"),
        ("quote: category 8", "quote", settle(category=8), S, "category"),
        ("quote: category -1", "quote", settle(category=-1), S, "category"),
        ("quote: empty merchant", "quote", settle(merchant_code=""), S, "merchant_code"),
        ("quote: no amount", "quote", settle(amount_fen=0), S, "amount"),
        ("quote: over the limit", "quote", settle(amount_fen=too_much), S, "amount"),
        ("quote: capturing a hold", "quote", settle(hold_id=1), S, "captures no hold"),
        ("settle: no reference", "settle", settle(merchant_reference=""), S,
         "merchant_reference"),
        ("settle: a reference of 65", "settle", settle(merchant_reference=long_ref), S,
         "merchant_reference"),
        ("settle: negative", "settle", settle(amount_fen=-100), S, "amount"),
        ("hold: no quote", "hold", pb.HoldRequest(hold_seconds=60), S, "needs its quote"),
        ("hold: 0 seconds", "hold", pb.HoldRequest(quote=settle(), hold_seconds=0), S,
         "hold_seconds"),
        ("hold: longer than the daemon allows", "hold",
         pb.HoldRequest(quote=settle(), hold_seconds=4294967295), S, "hold_seconds"),
        ("hold: of a hold", "hold", pb.HoldRequest(quote=settle(hold_id=1), hold_seconds=60),
         S, "no other hold"),
        ("settlement_get: neither id nor reference", "settlement_get",
         pb.SettlementGetRequest(), S, "found by its id"),
        ("cancel: no settlement", "cancel", refund(settlement_id=0, amount_fen=0), S,
         "settlement_id"),
        ("cancel: with an amount", "cancel", refund(amount_fen=100), S, "takes no amount"),
        ("cancel: empty merchant", "cancel", refund(merchant_code="", amount_fen=0), S,
         "merchant_code"),
        ("refund: no reference", "refund", refund(merchant_reference=""), S,
         "merchant_reference"),
        ("refund: no amount", "refund", refund(amount_fen=0), S, "amount"),
        ("refund: negative", "refund", refund(amount_fen=-5), S, "amount"),
        ("reverse: empty merchant", "reverse", pb.ReverseRequest(merchant_reference="x"), S,
         "merchant_code"),
        ("reverse: no reference", "reverse", pb.ReverseRequest(merchant_code="PH1"), S,
         "merchant_reference"),
        ("payout: merchant and person", "payout", payout(person_no="H"), S, "exactly one"),
        ("payout: neither", "payout", payout(merchant_code=""), S, "exactly one"),
        ("payout: a malformed code", "payout", payout(merchant_code="a b"), S,
         "letters or digits"),
        ("payout: no amount", "payout", payout(amount_fen=0), S, "amount"),
        ("payout: no reference", "payout", payout(reference=""), S, "reference"),
        ("clearing: a month 13", "clearing",
         pb.ClearingRequest(merchant_code="PH1", **{"from": "2026-13-01", "to": "2026-12-31"}),
         S, "dates"),
        ("clearing: backwards", "clearing",
         pb.ClearingRequest(merchant_code="PH1", **{"from": "2026-12-02", "to": "2026-12-01"}),
         S, "not be after"),
        ("clearing: over a year", "clearing",
         pb.ClearingRequest(merchant_code="PH1", **{"from": "2024-01-01", "to": "2026-01-01"}),
         S, "at most 366"),
        ("settlements: of nobody", "settlement_list", pb.SettlementListRequest(), S,
         "exactly one"),
        ("settlements: of both", "settlement_list",
         pb.SettlementListRequest(patient="K", merchant_code="PH1"), S, "exactly one"),
        ("settlements: a date of 30 February", "settlement_list",
         pb.SettlementListRequest(patient="K", **{"from": "2026-02-30"}), S, "dates"),
        ("settlements: a merchant's two years", "settlement_list",
         pb.SettlementListRequest(merchant_code="PH1", **{"from": "2024-01-01",
                                                           "to": "2026-01-01"}), S,
         "at most 366"),
        ("freeze: no reason", "account_freeze",
         pb.AccountFreezeRequest(person_no="H", frozen=True), S, "needs a reason"),
        ("suspend: no reason", "person_suspend",
         pb.PersonSuspendRequest(person_no="K", suspended=True), S, "needs a reason"),
        ("death: no evidence", "person_deceased", pb.PersonDeceasedRequest(person_no="K"), S,
         "evidence"),
        ("withdraw: no reason", "withdraw", withdraw(reason=0), S, "withdrawal reason"),
        ("withdraw: reason 99", "withdraw", withdraw(reason=99), S, "withdrawal reason"),
        ("withdraw: reason -1", "withdraw", withdraw(reason=-1), S, "withdrawal reason"),
        ("withdraw: no reference", "withdraw", withdraw(reference=""), S, "reference"),
        ("withdraw: negative", "withdraw", withdraw(amount_fen=-1), S, "negative"),
        ("withdraw: a disease code elsewhere", "withdraw", withdraw(disease_code="D1"), S,
         "only for major-disease"),
        ("withdraw: an heir elsewhere", "withdraw", withdraw(heir="李四"), S,
         "only for death"),
        ("withdraw: a disease without its code", "withdraw",
         withdraw(reason=pb.WITHDRAWAL_MAJOR_DISEASE), S, "disease code"),
        ("withdraw: a death without the heir", "withdraw",
         withdraw(reason=pb.WITHDRAWAL_DEATH, amount_fen=0), S, "heir"),
        ("transfer out: a region of 7", "transfer_out",
         pb.TransferOutRequest(person_no="H", to_region="1234567", reference="t1"), S,
         "to_region"),
        ("transfer in: no region", "transfer_in",
         pb.TransferInRequest(person_no="H", amount_fen=1, reference="t2"), S, "from_region"),
        ("transfer in: no amount", "transfer_in",
         pb.TransferInRequest(person_no="H", from_region="310101", reference="t2"), S,
         "amount"),
        ("transfer in: a letter region to", "transfer_in",
         pb.TransferInRequest(person_no="H", amount_fen=1, from_region="310101",
                              reference="t2", to_region="abcdef"), S, "to_region"),
        ("wallet send: empty holder", "wallet_send", wallet(holder=""), S,
         "holder and beneficiary"),
        ("wallet send: no reference", "wallet_send", wallet(reference=""), S, "reference"),
        ("wallet send: no amount", "wallet_send", wallet(amount_fen=0), S, "amount"),
        ("wallet send: over the limit", "wallet_send", wallet(amount_fen=too_much), S,
         "amount"),
        ("wallet send: to oneself", "wallet_send", wallet(beneficiary="H"),
         pb.STATUS_SELF_BINDING, "own wallet"),
        ("wallet accept: no reference", "wallet_accept", pb.WalletSendCloseRequest(), S,
         "reference"),
        ("wallet decline: a reference of 65", "wallet_decline",
         pb.WalletSendCloseRequest(reference=long_ref), S, "reference"),
        ("log page: 30 February", "log_page", pb.LogPageRequest(date="2026-02-30"), S, "date"),
        ("state page: no table", "state_page", pb.StatePageRequest(), S, "unknown state table"),
        ("state page: table 99", "state_page", pb.StatePageRequest(table=99), S,
         "unknown state table"),
        ("state page: a retired table", "state_page", pb.StatePageRequest(table=8), S,
         "since format 4"),
        ("state page: a key of 600 bytes", "state_page",
         pb.StatePageRequest(table=pb.STATE_ACCOUNTS, after_key=b"k" * 600), S, "too long"),
        ("merchant day: empty code", "merchant_day",
         pb.MerchantDayRequest(date="2026-12-01"), S, "merchant code"),
        ("merchant day: a date without zeros", "merchant_day",
         pb.MerchantDayRequest(merchant_code="PH1", date="2026-1-1"), S, "date"),
        ("day close: not a date", "day_close", pb.DayCloseRequest(date="yesterday"), S,
         "date"),
        ("backup: a relative path", "backup", pb.BackupRequest(dir="relative/dir"), S,
         "absolute path"),
        ("migrate: a negative balance", "migrate", migrate(opening_balance_fen=-1), S,
         "opening_balance"),
        ("migrate: a resident with a balance", "migrate",
         migrate(scheme=pb.SCHEME_RESIDENT, opening_balance_fen=100), pb.STATUS_NOT_EMPLOYEE,
         "resident scheme"),
        ("migrate: a person registered before", "migrate", migrate(person_no="H"),
         pb.STATUS_PERSON_EXISTS, "already registered"),
        ("batch: empty", "batch", pb.BatchRequest(), S, "1 to 1000"),
    ]


def refusals(conn):
    """Each malformed request is refused with its status and an error naming what is wrong;
    none of them writes anything, and the connection goes on serving."""
    ok("K2, a child of H not yet bound", conn.call("person_add", pb.PersonAddRequest(
        person_no="K2", name="张子", region="110101", scheme=pb.SCHEME_RESIDENT)))
    before = conn.call("head", pb.HeadRequest()).head
    for what, body, message, status, words in refusal_cases():
        response = conn.call(body, message)
        if expect_status(what, response, status):
            check(f"{what}: the error says '{words}'", words in response.error, response.error)
    # The daemon's top-level checks of a Request, and what a batch may not carry.
    request = conn.request("head", pb.HeadRequest())
    request.operator_id = "o" * 65
    conn.send_bytes(request.SerializeToString())
    response = conn.read_response()
    expect_status("an operator_id of 65", response, pb.STATUS_INVALID_ARGUMENT)
    item = conn.request("subscribe", pb.SubscribeRequest(from_seq=1))
    response = conn.call("batch", pb.BatchRequest(requests=[item]))
    if ok("a batch holding a subscribe", response):
        expect_status("the subscribe in it is refused", response.batch.replies[0],
                      pb.STATUS_UNSUPPORTED)
    # A digest asked for in an older version is refused for that first; in this daemon's
    # version, for a key of the wrong size.
    old = conn.call("state_digest", pb.StateDigestRequest(table=pb.STATE_ACCOUNTS, key=b"1" * 16))
    if expect_status("a digest of version 0", old, pb.STATUS_UNSUPPORTED):
        version = int(old.error.split("as version ")[1].split(",")[0])
        expect_status("a digest's key of 5 bytes", conn.call("state_digest", pb.StateDigestRequest(
            table=pb.STATE_ACCOUNTS, version=version, key=b"12345")), pb.STATUS_INVALID_ARGUMENT)
    after = conn.call("head", pb.HeadRequest()).head
    check("the refusals wrote nothing", after.seq == before.seq and after.hash == before.hash,
          f"{before.seq} -> {after.seq}")


def log_checked(conn):
    """Read the whole log by pages, check its chain with hashlib and each entry's postings."""
    head = conn.call("head", pb.HeadRequest())
    ok("head", head)
    previous = bytes(32)
    seq = 1
    records = []
    chained = balanced = True
    while True:
        page = conn.call("log_page", pb.LogPageRequest(from_seq=seq, limit=7))
        if not ok(f"log_page from {seq}", page):
            return []
        for record in page.log_page.records:
            entry = pb.Entry()
            entry.ParseFromString(record.entry_bytes)
            if (record.seq != seq or entry.seq != seq or entry.prev_hash != previous or
                    hashlib.sha256(previous + record.entry_bytes).digest() != record.hash):
                chained = False
            if sum(posting.amount_fen for posting in entry.postings) != 0:
                balanced = False
            previous = record.hash
            records.append(record)
            seq += 1
        if page.log_page.next_seq == 0:
            break
        seq = page.log_page.next_seq
    check("the log is every entry up to the head", seq - 1 == head.head.seq,
          f"{seq - 1} and {head.head.seq}")
    check("each entry's hash is SHA-256(prev_hash || entry_bytes)", chained)
    check("the chain ends at the head's hash", previous == head.head.hash)
    check("every entry's postings sum to zero", balanced)
    bodies = {pb.Entry.FromString(record.entry_bytes).WhichOneof("body") for record in records}
    check("the log holds what was done", {"person_registered", "account_opened",
                                          "account_credited", "binding_added", "merchant_added",
                                          "settled", "refunded"} <= bodies, str(bodies))
    return records


def streamed(records):
    """subscribe without follow: the same records as the pages, then end."""
    conn = Connection()
    request = conn.request("subscribe", pb.SubscribeRequest(from_seq=1))
    conn.send_bytes(request.SerializeToString())
    streamed_records = []
    ended = False
    while not ended:
        response = conn.read_response()
        if not ok("a stream frame", response):
            break
        streamed_records.extend(response.stream.records)
        ended = response.stream.end
    check("the stream gives the log's records, byte for byte",
          [(r.seq, r.hash, r.entry_bytes) for r in streamed_records] ==
          [(r.seq, r.hash, r.entry_bytes) for r in records],
          f"{len(streamed_records)} records, {len(records)} in the pages")
    conn.close()


def pharmacy():
    """A settle peer of PH1: its own merchant's work, and nothing else."""
    conn = Connection()
    before = account_balance(conn, "H")
    settled = conn.call("settle", settle_request("ph-1", "K", 1000))
    ok("PH1's system settles at PH1", settled)
    check("from H's account", account_balance(conn, "H") == before - 1000)
    ok("and refunds it", conn.call("refund", pb.RefundRequest(
        merchant_code="PH1", merchant_reference="ph-r1",
        settlement_id=settled.settlement.settlement.settlement_id, amount_fen=1000)))
    expect_status("but may not settle at PH2",
                  conn.call("settle", settle_request("ph-2", "K", 1000, merchant="PH2")),
                  pb.STATUS_PERMISSION_DENIED)
    expect_status("nor read PH2's settlement", conn.call(
        "settlement_get", pb.SettlementGetRequest(merchant_code="PH2",
                                                  merchant_reference="P2-1")),
        pb.STATUS_PERMISSION_DENIED)
    denied = {
        "credit": pb.CreditRequest(person_no="H", amount_fen=100, reference="ph-c"),
        "person_add": pb.PersonAddRequest(person_no="X", name="X", region="110101",
                                          scheme=pb.SCHEME_EMPLOYEE),
        "merchant_status": pb.MerchantStatusRequest(code="PH2", suspended=True),
        "log_page": pb.LogPageRequest(from_seq=1),
        "statement": pb.StatementRequest(person_no="H"),
        "wallet_statement": pb.StatementRequest(person_no="K"),
        "credits": pb.CreditsRequest(person_no="H"),
        "emergency_claim": pb.EmergencyClaimRequest(patient="H", amount_fen=1, hospital="H",
                                                    receipt="R", reference="ph-e"),
        "emergency_list": pb.EmergencyListRequest(),
        "calendar_set": pb.Calendar(year=2027, holidays=["2027-01-01"]),
        "trial_balance": pb.TrialBalanceRequest(),
    }
    for body, message in denied.items():
        expect_status(f"a pharmacy's {body}", conn.call(body, message),
                      pb.STATUS_PERMISSION_DENIED)
    # The same request with a field the daemon does not know is refused for the role first:
    # the body of a request the peer may not send is never decoded.
    body = pb.CreditRequest()
    body.ParseFromString(pb.CreditRequest(person_no="H", amount_fen=1).SerializeToString() +
                         b"\x98\x06\x01")
    conn.send_bytes(conn.request("credit", body).SerializeToString())
    expect_status("a credit with field 99, from a pharmacy", conn.read_response(),
                  pb.STATUS_PERMISSION_DENIED)
    subscriber = Connection()
    subscriber.send_bytes(subscriber.request("subscribe", pb.SubscribeRequest(from_seq=1))
                          .SerializeToString())
    expect_status("a pharmacy may not follow the change stream", subscriber.read_response(),
                  pb.STATUS_PERMISSION_DENIED)
    subscriber.close()
    ok("the connection still serves its own merchant",
       conn.call("settlement_get", pb.SettlementGetRequest(merchant_code="PH1",
                                                           merchant_reference="ph-1")))
    conn.close()
    print(f"checks: {passed} passed, {failed} failed")
    return 1 if failed else 0


class Family:
    """The deduction and refund rules of docs/POLICY.md, written again from the page: the
    accounts each settlement and refund must move, to the fen, whatever order things come in."""

    def __init__(self):
        self.balances = {}   # employee -> balance in fen
        self.funders = {}    # patient -> holders in funding order
        self.settlements = {}  # id -> {"legs": [[holder, amount, refunded]], "cancelled": bool}

    def plan(self, patient, amount):
        legs = []
        left = amount
        own = [patient] if patient in self.balances else []
        for holder in own + self.funders.get(patient, []):
            take = min(self.balances[holder], left)
            if take > 0:
                legs.append([holder, take, 0])
                left -= take
        return legs, left

    def settle(self, settlement_id, patient, amount):
        legs, cash = self.plan(patient, amount)
        for holder, take, _ in legs:
            self.balances[holder] -= take
        self.settlements[settlement_id] = {"legs": legs, "cancelled": False}
        return legs, cash

    def refundable(self, settlement_id):
        return sum(take - back for _, take, back in self.settlements[settlement_id]["legs"])

    def refund(self, settlement_id, amount):
        """The legs given back, last debited first."""
        given = []
        for leg in reversed(self.settlements[settlement_id]["legs"]):
            back = min(leg[1] - leg[2], amount)
            if back > 0:
                leg[2] += back
                amount -= back
                self.balances[leg[0]] += back
                given.append((leg[0], back))
        return given


class ModelWalk:
    """Random credits, settlements, refunds, cancels and reorderings of two families, each
    answer held to the Family model: legs, cash, the patient's balance, every account's."""

    EMPLOYEES = ["MA1", "MA2", "MA3", "MA4"]
    RESIDENTS = ["MR1", "MR2"]
    # MR1 is the parent of MA1 and MA2; MA3 and MA4 are married, and MR2 is their child.
    BINDINGS = [("MA1", "MR1", pb.RELATION_PARENT), ("MA2", "MR1", pb.RELATION_PARENT),
                ("MA3", "MA4", pb.RELATION_SPOUSE), ("MA3", "MR2", pb.RELATION_CHILD),
                ("MA4", "MR2", pb.RELATION_CHILD)]

    def __init__(self, conn, seed):
        self.conn = conn
        self.seed = seed
        self.rng = random.Random(seed)
        self.model = Family()
        self.reference = ""

    def setup(self):
        for person in self.EMPLOYEES + self.RESIDENTS:
            scheme = pb.SCHEME_EMPLOYEE if person in self.EMPLOYEES else pb.SCHEME_RESIDENT
            ok(f"person_add {person}", self.conn.call("person_add", pb.PersonAddRequest(
                person_no=person, name="模型", region="110101", scheme=scheme)))
        for person in self.EMPLOYEES:
            ok(f"account_open {person}", self.conn.call(
                "account_open", pb.AccountOpenRequest(person_no=person)))
            self.model.balances[person] = 0
        for holder, beneficiary, relation in self.BINDINGS:
            ok(f"bind {holder} -> {beneficiary}", self.conn.call("bind", pb.BindRequest(
                holder=holder, beneficiary=beneficiary, relation=relation)))
            self.model.funders.setdefault(beneficiary, []).append(holder)

    # Each step returns what was wrong with the answer, or None.

    def credit(self):
        person = self.rng.choice(self.EMPLOYEES)
        amount = self.rng.randint(1, 20000)
        reply = self.conn.call("credit", pb.CreditRequest(person_no=person, amount_fen=amount,
                                                          reference=self.reference))
        if reply.status != pb.STATUS_OK:
            return f"credit {status_name(reply.status)} {reply.error}"
        self.model.balances[person] += amount
        return None

    def settle(self):
        patient = self.rng.choice(self.EMPLOYEES + self.RESIDENTS)
        amount = self.rng.randint(1, 30000)
        request = settle_request(self.reference, patient, amount)
        request.all_or_nothing = self.rng.random() < 0.2
        reply = self.conn.call("settle", request)
        _, short = self.model.plan(patient, amount)
        if request.all_or_nothing and short:
            if reply.status != pb.STATUS_INSUFFICIENT_FUNDS:
                return f"all or nothing short by {short}: {status_name(reply.status)}"
            return None
        if reply.status != pb.STATUS_OK:
            return f"settle {status_name(reply.status)} {reply.error}"
        got = reply.settlement.settlement
        legs, cash = self.model.settle(got.settlement_id, patient, amount)
        own = sum(take for holder, take, _ in legs if holder == patient)
        balances = self.model.balances
        if ([(leg.holder, leg.amount_fen, leg.mutual_aid) for leg in got.legs] !=
                [(holder, take, holder != patient) for holder, take, _ in legs] or
                got.cash_pay_fen != cash or got.acct_pay_fen != own or
                got.acct_mulaid_pay_fen != amount - cash - own or
                got.balc_fen != balances.get(patient, 0) or
                any(leg.balance_after_fen != balances[leg.holder] for leg in got.legs)):
            return f"{patient} {amount}: {legs} cash {cash}, got {got}"
        return None

    def give_back(self, settlement_id, cancel):
        """A refund of part of what the accounts paid, or a cancel of all that is left."""
        body = pb.RefundRequest(merchant_code="PH1", merchant_reference=self.reference,
                                settlement_id=settlement_id)
        if not cancel:
            body.amount_fen = self.rng.randint(1, self.model.refundable(settlement_id))
        reply = self.conn.call("cancel" if cancel else "refund", body)
        what = f"{'cancel' if cancel else 'refund'} of {settlement_id}"
        if reply.status != pb.STATUS_OK:
            return f"{what}: {status_name(reply.status)} {reply.error}"
        given = self.model.refund(settlement_id, body.amount_fen or
                                  self.model.refundable(settlement_id))
        if cancel:
            self.model.settlements[settlement_id]["cancelled"] = True
        got = [(leg.holder, leg.amount_fen) for leg in reply.refund.refund.legs]
        return None if got == given else f"{what}: {given}, got {got}"

    def reorder(self):
        beneficiary = self.rng.choice(self.RESIDENTS)
        order = list(reversed(self.model.funders[beneficiary]))
        reply = self.conn.call("funding_order", pb.FundingOrderRequest(
            beneficiary=beneficiary, holders=order))
        if reply.status != pb.STATUS_OK:
            return f"funding order {status_name(reply.status)} {reply.error}"
        self.model.funders[beneficiary] = order
        return None

    def run(self, steps):
        self.setup()
        wrong = []
        for step in range(steps):
            self.reference = f"m{self.seed}-{step}"
            open_ids = [i for i, s in self.model.settlements.items()
                        if not s["cancelled"] and self.model.refundable(i) > 0]
            roll = self.rng.random()
            if roll < 0.25:
                problem = self.credit()
            elif roll < 0.65:
                problem = self.settle()
            elif roll < 0.93 and open_ids:
                problem = self.give_back(self.rng.choice(open_ids), cancel=roll >= 0.85)
            else:
                problem = self.reorder()
            if problem:
                wrong.append(f"seed {self.seed} step {step}: {problem}")
        check(f"seed {self.seed}: {steps} steps answered as the model says", not wrong,
              "\n  ".join(wrong[:5]))
        balances = {person: account_balance(self.conn, person) for person in self.EMPLOYEES}
        check(f"seed {self.seed}: every account holds what the model says",
              balances == self.model.balances, f"{balances} against {self.model.balances}")


def varint(value):
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value >= 0x80 else 0))
        value >>= 7
        if not value:
            return bytes(out)


def pending_request_bytes(conn):
    """The daemon's famledger_pending_request_bytes gauge, through a stats request."""
    reply = conn.call("stats", pb.StatsRequest())
    for family in reply.stats.metrics:
        if family.name == "famledger_pending_request_bytes":
            return family.samples[0].value
    return None


def flood(budget_mib, connections=16, frames=12, items=1000):
    """Batches of a thousand credits pipelined on many connections at once, their replies read
    as they come: the decoded requests the daemon holds, sampled all along, must stay about
    the budget and not grow with the connections."""
    conn = Connection()
    ok("person_add F", conn.call("person_add", pb.PersonAddRequest(
        person_no="F", name="洪水", region="110101", scheme=pb.SCHEME_EMPLOYEE)))
    ok("account_open F", conn.call("account_open", pb.AccountOpenRequest(person_no="F")))
    # A batch is assembled from its items' bytes: field 60 of Request, `requests` of
    # BatchRequest. Every credit has its own reference, so each one commits.
    outs = []  # each: the socket, its frames, bytes sent, bytes received, replies still due
    for c in range(connections):
        data = bytearray()
        for f in range(frames):
            batch = bytearray()
            for i in range(items):
                item = pb.Request(request_id=i + 1)
                item.credit.CopyFrom(pb.CreditRequest(person_no="F", amount_fen=1,
                                                      reference=f"fl{c}-{f}-{i}"))
                raw = item.SerializeToString()
                batch += b"\x0a" + varint(len(raw)) + raw
            request = b"\x08" + varint(f + 1) + b"\xe2\x03" + varint(len(batch)) + bytes(batch)
            data += struct.pack(">I", len(request)) + request
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(SOCKET)
        sock.setblocking(False)
        outs.append([sock, bytes(data), 0, bytearray(), frames])
    most = 0
    deadline = time.time() + 300
    next_sample = 0.0
    while any(entry[4] for entry in outs) and time.time() < deadline:
        socks = [o[0] for o in outs]
        writable = [o[0] for o in outs if o[2] < len(o[1])]
        readable, writable, _ = select.select(socks, writable, [], 0.02)
        for entry in outs:
            sock, data, sent, received, _ = entry
            if sock in writable:
                try:
                    entry[2] += sock.send(data[sent:sent + (256 << 10)])
                except BlockingIOError:
                    pass
            if sock in readable:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    entry[4] = 0
                received += chunk
                while len(received) >= 4:
                    (length,) = struct.unpack(">I", received[:4])
                    if len(received) < 4 + length:
                        break
                    reply = pb.Response.FromString(bytes(received[4:4 + length]))
                    check("a batch of the flood is taken", reply.status == pb.STATUS_OK,
                          f"{status_name(reply.status)} {reply.error}")
                    del received[:4 + length]
                    entry[4] -= 1
        if time.time() >= next_sample:
            most = max(most, pending_request_bytes(conn) or 0)
            next_sample = time.time() + 0.02
    for sock, *_ in outs:
        sock.close()
    check("every batch of the flood is answered", not any(entry[4] for entry in outs),
          str([entry[4] for entry in outs]))
    check("every credit of the flood counted once",
          account_balance(conn, "F") == connections * frames * items)
    # Past the budget a connection takes another frame only while it holds under 256 KiB: the
    # budget, a share a connection, and a frame each that took it over (a batch of a thousand
    # credits decodes to about 160 KiB). Without the budget the connections hold all their
    # frames: twelve each.
    bound = (budget_mib << 20) + connections * ((256 << 10) + (512 << 10))
    print(f"flood: at most {most >> 10} KiB of requests pending (budget {budget_mib} MiB, "
          f"bound {bound >> 10} KiB)")
    check("the requests held stay within the budget and a share a connection", most <= bound,
          f"{most} bytes")
    check("the flood did fill the budget", most >= budget_mib << 20, f"{most} bytes")
    conn.close()
    print(f"checks: {passed} passed, {failed} failed")
    return 1 if failed else 0


def wallet_statement(conn):
    """K, a resident without an account, is sent 10.00 into their wallet; its statement says
    so, with the balance after and whose account it came from."""
    ok("credit H 10.00", conn.call("credit", pb.CreditRequest(person_no="H", amount_fen=1000,
                                                              reference="w-c1")))
    ok("send it to K's wallet", conn.call("wallet_send", pb.WalletSendRequest(
        holder="H", beneficiary="K", amount_fen=1000, reference="w-1")))
    ok("K accepts", conn.call("wallet_accept", pb.WalletSendCloseRequest(reference="w-1")))
    page = conn.call("wallet_statement", pb.StatementRequest(person_no="K"))
    ok("wallet_statement of K", page)
    lines = [(line.type, line.amount_fen, line.balance_after_fen, line.reference, line.holder)
             for line in page.statement.lines]
    check("one line: the send accepted, from H",
          lines == [("wallet_send_closed", 1000, 1000, "w-1", "H")], str(lines))


def monthly_credits(conn):
    """H's credits this year, month by month: the months add up to the credits listed, w-c1
    (wallet_statement's) among them, newest first."""
    reply = conn.call("credits", pb.CreditsRequest(person_no="H"))
    ok("credits of H", reply)
    got = reply.credits
    check("twelve months, January first", [m.month for m in got.months] == list(range(1, 13)),
          str(got.months))
    months = sum(m.allocated_fen + m.deposited_fen for m in got.months)
    check("the months add up to the credits", months == sum(c.amount_fen for c in got.credits),
          str(got))
    check("w-c1 the newest", got.credits[:1] and got.credits[0].reference == "w-c1" and
          got.credits[0].amount_fen == 1000, str(got.credits[:1]))
    check("read whole", got.next_cursor == 0, str(got.next_cursor))
    expect_status("credits of the year 1999", conn.call(
        "credits", pb.CreditsRequest(person_no="H", year=1999)), pb.STATUS_INVALID_ARGUMENT)


def emergency(conn):
    """H claims 5.00 of emergency costs; the claim is due on its 7th working day, and its return
    puts the money into H's account; a second, different close is refused."""
    made = conn.call("emergency_claim", pb.EmergencyClaimRequest(
        patient="H", amount_fen=500, hospital="急救中心", receipt="RC-1", reference="e-1"))
    ok("emergency_claim of H", made)
    claim = made.emergency
    check("open, with its days", claim.state == pb.EMERGENCY_OPEN and
          claim.due_day > claim.claimed_day and len(claim.due_day) == 10, str(claim))
    before = conn.call("account_get", pb.AccountGetRequest(person_no="H")).account.account
    back = conn.call("emergency_close", pb.EmergencyCloseRequest(claim_id=claim.claim_id))
    ok("emergency_close: all of it back", back)
    check("returned, with the balance after", back.emergency.state == pb.EMERGENCY_RETURNED and
          back.emergency.returned_fen == 500 and
          back.emergency.balance_after_fen == before.balance_fen + 500, str(back))
    expect_status("a rejection after the return", conn.call(
        "emergency_close", pb.EmergencyCloseRequest(claim_id=claim.claim_id, reject=True,
                                                    reason="no")),
        pb.STATUS_EMERGENCY_CLAIM_CLOSED)
    cal = conn.call("calendar_set", pb.Calendar(year=2030, holidays=["2030-01-02", "2030-01-01"]))
    ok("calendar_set of 2030", cal)
    check("its days sorted", list(cal.calendar.holidays) == ["2030-01-01", "2030-01-02"] and
          cal.calendar.set_seq != 0, str(cal))
    listed = conn.call("emergency_list", pb.EmergencyListRequest(patient="H"))
    ok("emergency_list of H", listed)
    check("lists the claim, returned", [c.claim_id for c in listed.emergency_list.claims] ==
          [claim.claim_id] and listed.emergency_list.claims[0].closed_seq != 0, str(listed))


def main():
    conn = Connection()
    empty = conn.call("head", pb.HeadRequest())
    ok("head of an empty ledger", empty)
    check("is seq 0 and 32 zero bytes", empty.head.seq == 0 and empty.head.hash == bytes(32))
    family(conn)
    credits(conn)
    settlement(conn)
    retried_after_a_lost_reply(conn)
    pipelined(conn)
    batched(conn)
    ModelWalk(conn, int(os.environ.get("FAMLEDGER_RANDOM_SEED", "1"))).run(400)
    hostile_frames()
    refusals(conn)
    wallet_statement(conn)
    monthly_credits(conn)
    emergency(conn)
    trial = conn.call("trial_balance", pb.TrialBalanceRequest())
    ok("trial_balance", trial)
    check("the books balance", trial.trial_balance.total_fen == 0 and
          sum(c.balance_fen for c in trial.trial_balance.classes) == 0, str(trial))
    records = log_checked(conn)
    streamed(records)
    conn.close()
    print(f"checks: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[3:4] == ["flood"]:
        sys.exit(flood(int(sys.argv[4])))
    sys.exit(pharmacy() if sys.argv[3:] == ["pharmacy"] else main())
