package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/keyplane/keyplane"
)

// Limits bound what one API key may ask of one server: a token bucket of
// Rate requests a second with room for Burst at once, and at most
// Concurrent requests in flight. A zero Rate or Concurrent turns that limit
// off. Each replica counts on its own.
type Limits struct {
	Rate       float64
	Burst      int
	Concurrent int
}

// DefaultLimits are the limits unless configured otherwise: generous for
// a deploy pipeline, tight enough that one runaway script cannot starve
// the keys of everyone else.
var DefaultLimits = Limits{Rate: 50, Burst: 100, Concurrent: 10}

// limiter keeps a bucket per API key.
type limiter struct {
	limits Limits
	now    func() time.Time

	mu      sync.Mutex
	buckets map[int64]*bucket
	swept   time.Time
}

type bucket struct {
	tokens   float64
	at       time.Time // when tokens was last brought up to date
	inFlight int
}

// idleBucket is how long an unused bucket is kept: by then it is full
// again, so forgetting it changes nothing.
func (l *limiter) idleBucket() time.Duration {
	if l.limits.Rate <= 0 {
		return time.Hour
	}
	return time.Duration(float64(l.limits.Burst)/l.limits.Rate*float64(time.Second)) + time.Minute
}

func newLimiter(limits Limits, now func() time.Time) *limiter {
	if limits.Burst < 1 {
		limits.Burst = max(1, int(math.Ceil(limits.Rate)))
	}
	return &limiter{limits: limits, now: now, buckets: map[int64]*bucket{}}
}

// admit takes a token and an in-flight slot for key, writing the
// RateLimit headers. It returns a release func, or a 429 error after
// setting Retry-After.
func (l *limiter) admit(w http.ResponseWriter, key int64) (func(), error) {
	if l.limits.Rate <= 0 && l.limits.Concurrent <= 0 {
		return func() {}, nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(l.limits.Burst), at: now}
		l.buckets[key] = b
	}
	h := w.Header()
	if l.limits.Rate > 0 {
		b.tokens = math.Min(float64(l.limits.Burst), b.tokens+now.Sub(b.at).Seconds()*l.limits.Rate)
		b.at = now
		h.Set("RateLimit-Limit", strconv.Itoa(l.limits.Burst))
		if b.tokens < 1 {
			wait := int(math.Ceil((1 - b.tokens) / l.limits.Rate))
			h.Set("RateLimit-Remaining", "0")
			h.Set("RateLimit-Reset", strconv.Itoa(wait))
			h.Set("Retry-After", strconv.Itoa(wait))
			return nil, keyplane.Errorf(keyplane.CodeTooManyRequests,
				"rate limit: this API key may make %g requests a second (bursts of %d); retry in %d s", l.limits.Rate, l.limits.Burst, wait)
		}
	}
	if l.limits.Concurrent > 0 && b.inFlight >= l.limits.Concurrent {
		h.Set("Retry-After", "1")
		return nil, keyplane.Errorf(keyplane.CodeTooManyRequests,
			"rate limit: this API key already has %d requests in progress, the most it may; retry when one ends", b.inFlight)
	}
	if l.limits.Rate > 0 {
		b.tokens--
		h.Set("RateLimit-Remaining", strconv.Itoa(int(b.tokens)))
		h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil((float64(l.limits.Burst)-b.tokens)/l.limits.Rate))))
	}
	b.inFlight++
	return func() {
		l.mu.Lock()
		b.inFlight--
		l.mu.Unlock()
	}, nil
}

// sweep forgets idle buckets now and then, so memory follows the keys in
// use rather than every key ever seen.
func (l *limiter) sweep(now time.Time) {
	idle := l.idleBucket()
	if now.Sub(l.swept) < idle {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if b.inFlight == 0 && now.Sub(b.at) > idle {
			delete(l.buckets, k)
		}
	}
}
