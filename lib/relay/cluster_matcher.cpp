// SPDX-License-Identifier: MIT
// ClusterMatcher: call_matcher::onCall's rules as one Lua script over Redis.
#include "relay/cluster_matcher.h"

#include <hiredis/hiredis.h>

namespace voice {

namespace {

// Each script reads what it needs in as few commands as it can (MGET, one
// string per call record): a cross-relay call costs Redis about 15 commands
// counting the scripts' own, the target being 20 (relay/README.md has the
// count). A call record is "STATE CALLER CALLEE" (names have no spaces).

// KEYS[1] voice:loc:CALLEE, KEYS[2] voice:line:CALLER, KEYS[3] voice:line:CALLEE
// ARGV[1] caller, ARGV[2] callee, ARGV[3] new call id, ARGV[4] ring TTL (ms)
// The same order of rules as call_matcher::onCall.
constexpr const char* kMatchScript = R"lua(
local caller, callee, id, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local got = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3])
local where = got[1]
local online = where ~= false
local function callOf(line, cid)
  if not cid then return nil end
  local rec = redis.call('GET', 'voice:call:' .. cid)
  local state, a, b
  if rec then state, a, b = string.match(rec, '^(%S+) (%S+) (%S+)$') end
  -- Stale: the record is gone (expired, or ended by a relay that died), or
  -- a party of it is offline (its relay died or the hangup was lost): the
  -- line is idle again.
  if not state or redis.call('EXISTS', 'voice:loc:' .. a, 'voice:loc:' .. b) < 2 then
    redis.call('DEL', line)
    return nil
  end
  return cid, {a, b, state}
end
local cancelled = ''
local mine, c = callOf(KEYS[2], got[2])
if mine then
  local glare = online and c[3] == 'ringing' and c[2] == caller and c[1] == callee and callee ~= caller
  if not glare then return {'already-in-call'} end
  if caller >= callee then return {'busy'} end
  redis.call('DEL', 'voice:call:' .. mine, KEYS[2], KEYS[3])
  cancelled = mine
else
  if not online or callee == caller then return {'offline'} end
  if callOf(KEYS[3], got[3]) then return {'busy'} end
end
-- A ringing record expires by itself; the lines need no TTL of their own
-- (a line whose record is gone is idle, above, and removed then).
redis.call('SET', 'voice:call:' .. id, 'ringing ' .. caller .. ' ' .. callee, 'PX', ttl)
redis.call('MSET', KEYS[2], id, KEYS[3], id)
return {cancelled == '' and 'ring' or 'cancel-and-ring', where, cancelled}
)lua";

// KEYS[1] voice:call:ID; ARGV[1] callee
constexpr const char* kAcceptScript = R"lua(
local rec = redis.call('GET', KEYS[1])
if not rec then return 0 end
local state, a, b = string.match(rec, '^(%S+) (%S+) (%S+)$')
if b ~= ARGV[1] or state ~= 'ringing' then return 0 end
redis.call('SET', KEYS[1], 'answered ' .. a .. ' ' .. b) -- no PX: it no longer expires
return 1
)lua";

// KEYS[1] voice:call:ID; ARGV[1] id
constexpr const char* kEndScript = R"lua(
local rec = redis.call('GET', KEYS[1])
if not rec then return 0 end
local _, a, b = string.match(rec, '^(%S+) (%S+) (%S+)$')
local gone = {KEYS[1]}
if a then
  local lines = {'voice:line:' .. a, 'voice:line:' .. b}
  local ids = redis.call('MGET', lines[1], lines[2])
  for i = 1, 2 do
    if ids[i] == ARGV[1] then gone[#gone + 1] = lines[i] end
  end
end
redis.call('DEL', unpack(gone))
return 1
)lua";

// KEYS[1] voice:call:ID; ARGV[1] 'caller' or 'callee' (the resuming side)
constexpr const char* kLocateScript = R"lua(
local rec = redis.call('GET', KEYS[1])
if not rec then return {} end
local state, mine, other = string.match(rec, '^(%S+) (%S+) (%S+)$')
if not state then return {} end
if ARGV[1] ~= 'caller' then mine, other = other, mine end
return {mine, other, state, redis.call('GET', 'voice:loc:' .. other) or ''}
)lua";

} // namespace

std::string ClusterMatcher::hex(const CallId& id) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (uint8_t b : id) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

void ClusterMatcher::match(const std::string& caller, const std::string& callee, const CallId& id,
                           MatchDone done) {
    redis_.command(
        {"EVAL", kMatchScript, "3", "voice:loc:" + callee, "voice:line:" + caller,
         "voice:line:" + callee, caller, callee, hex(id), std::to_string(ringTtl_.count())},
        [done = std::move(done)](const redisReply* r) {
            if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
                done(std::nullopt);
                return;
            }
            using D = call_matcher::CallDecision;
            const std::string what = replyString(r->element[0]);
            Match m;
            if (what == "offline") {
                m.decision = D::Offline;
            } else if (what == "busy") {
                m.decision = D::Busy;
            } else if (what == "already-in-call") {
                m.decision = D::AlreadyInCall;
            } else if ((what == "ring" || what == "cancel-and-ring") && r->elements == 3) {
                m.decision = what == "ring" ? D::Ring : D::CancelRingingAndRing;
                m.calleeLocation = replyString(r->element[1]);
                m.cancelledCall = replyString(r->element[2]);
            } else {
                done(std::nullopt);
                return;
            }
            done(m);
        });
}

void ClusterMatcher::accept(const CallId& id, const std::string& callee, Done done) {
    const std::string h = hex(id);
    redis_.command({"EVAL", kAcceptScript, "1", "voice:call:" + h, callee},
                   [done = std::move(done)](const redisReply* r) {
                       done(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
                   });
}

void ClusterMatcher::end(const CallId& id, Done done) {
    const std::string h = hex(id);
    redis_.command({"EVAL", kEndScript, "1", "voice:call:" + h, h},
                   [done = std::move(done)](const redisReply* r) {
                       done(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
                   });
}

void ClusterMatcher::locate(const CallId& id, bool asCaller, LocateDone done) {
    redis_.command(
        {"EVAL", kLocateScript, "1", "voice:call:" + hex(id), asCaller ? "caller" : "callee"},
        [done = std::move(done)](const redisReply* r) {
            if (!r || r->type != REDIS_REPLY_ARRAY) {
                done(false, std::nullopt);
                return;
            }
            if (r->elements != 4) {
                done(true, std::nullopt);
                return;
            }
            Record record;
            record.mine = replyString(r->element[0]);
            record.other = replyString(r->element[1]);
            record.answered = replyString(r->element[2]) == "answered";
            record.otherLocation = replyString(r->element[3]);
            done(true, record);
        });
}

} // namespace voice
