// SPDX-License-Identifier: MIT
// ClusterMatcher: call_matcher::onCall's rules as one Lua script over Redis.
#include "relay/cluster_matcher.h"

#include <hiredis/hiredis.h>

namespace voice {

namespace {

// KEYS[1] voice:loc:CALLEE, KEYS[2] voice:line:CALLER, KEYS[3] voice:line:CALLEE
// ARGV[1] caller, ARGV[2] callee, ARGV[3] new call id, ARGV[4] ring TTL (ms)
// The same order of rules as call_matcher::onCall.
constexpr const char* kMatchScript = R"lua(
local caller, callee, id, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local online = redis.call('EXISTS', KEYS[1]) == 1
local function callOf(line)
  local cid = redis.call('GET', line)
  if not cid then return nil end
  local c = redis.call('HMGET', 'voice:call:' .. cid, 'caller', 'callee', 'state')
  -- Stale: the record is gone, or a party of it is offline (its relay died
  -- or the hangup was lost): the line is idle again.
  if not c[1] or redis.call('EXISTS', 'voice:loc:' .. c[1]) == 0 or
     redis.call('EXISTS', 'voice:loc:' .. c[2]) == 0 then
    redis.call('DEL', line)
    return nil
  end
  return cid, c
end
local cancelled = ''
local mine, c = callOf(KEYS[2])
if mine then
  local glare = online and c[3] == 'ringing' and c[2] == caller and c[1] == callee and callee ~= caller
  if not glare then return {'already-in-call'} end
  if caller >= callee then return {'busy'} end
  redis.call('DEL', 'voice:call:' .. mine, KEYS[2], KEYS[3])
  cancelled = mine
else
  if not online or callee == caller then return {'offline'} end
  if callOf(KEYS[3]) then return {'busy'} end
end
redis.call('HSET', 'voice:call:' .. id, 'caller', caller, 'callee', callee, 'state', 'ringing')
redis.call('PEXPIRE', 'voice:call:' .. id, ttl)
redis.call('SET', KEYS[2], id, 'PX', ttl)
redis.call('SET', KEYS[3], id, 'PX', ttl)
local where = redis.call('GET', KEYS[1]) or ''
return {cancelled == '' and 'ring' or 'cancel-and-ring', where, cancelled}
)lua";

// KEYS[1] voice:call:ID; ARGV[1] callee, ARGV[2] id
constexpr const char* kAcceptScript = R"lua(
local c = redis.call('HMGET', KEYS[1], 'caller', 'callee', 'state')
if not c[1] or c[2] ~= ARGV[1] or c[3] ~= 'ringing' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'answered')
redis.call('PERSIST', KEYS[1])
for _, name in ipairs({c[1], c[2]}) do
  local line = 'voice:line:' .. name
  if redis.call('GET', line) == ARGV[2] then redis.call('PERSIST', line) end
end
return 1
)lua";

// KEYS[1] voice:call:ID; ARGV[1] id
constexpr const char* kEndScript = R"lua(
local c = redis.call('HMGET', KEYS[1], 'caller', 'callee')
if not c[1] then return 0 end
for _, name in ipairs({c[1], c[2]}) do
  local line = 'voice:line:' .. name
  if redis.call('GET', line) == ARGV[1] then redis.call('DEL', line) end
end
redis.call('DEL', KEYS[1])
return 1
)lua";

// KEYS[1] voice:call:ID; ARGV[1] 'caller' or 'callee' (the resuming side)
constexpr const char* kLocateScript = R"lua(
local c = redis.call('HMGET', KEYS[1], 'caller', 'callee', 'state')
if not c[1] then return {} end
local mine, other = c[1], c[2]
if ARGV[1] ~= 'caller' then mine, other = c[2], c[1] end
return {mine, other, c[3], redis.call('GET', 'voice:loc:' .. other) or ''}
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
    redis_.command({"EVAL", kAcceptScript, "1", "voice:call:" + h, callee, h},
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
