package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"scribe/job"
	"scribe/store"
	"scribe/store/storetest"
)

// TestStoresShareOneDatabase opens two stores on one database, as two
// replicas would, and has both move the same jobs at once: progress only
// rises in the order of the change sequence, every change has its own
// sequence number, a completion delivered to both is applied once, of two
// edits from the same revision one is saved, and a per-user limit holds.
func TestStoresShareOneDatabase(t *testing.T) {
	ctx := context.Background()
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			o := storetest.OptionsOn(t, d)
			var replicas [2]*store.Store
			for i := range replicas {
				s, err := store.Open(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				replicas[i] = s
			}
			u := storetest.User(t, replicas[0], "a@example.com")
			const jobs, steps = 3, 12
			for k := range jobs {
				storetest.SubmittedJob(t, replicas[0], u, fmt.Sprintf("j_%d", k), fmt.Sprintf("tr_%d", k))
			}

			type change struct {
				seq      int64
				progress float64
				status   job.Status
			}
			var mu sync.Mutex
			changes := map[string][]change{}
			completions := 0
			var wg sync.WaitGroup
			for w := range 4 {
				s := replicas[w%2]
				wg.Go(func() {
					for step := range steps {
						for k := range jobs {
							u := job.Update{UpstreamID: fmt.Sprintf("tr_%d", k), Status: job.StatusProcessing,
								Progress: float64((step*4+w)%steps) / steps, Via: job.ViaSSE}
							if step == steps-1 {
								u = job.Update{UpstreamID: u.UpstreamID, Status: job.StatusCompleted, Result: upstreamResult,
									Via: job.ViaWebhook, WebhookID: "msg_done_" + u.UpstreamID}
							}
							j, changed, err := s.ApplyUpdate(ctx, u)
							if err != nil && !errors.Is(err, store.ErrDuplicate) {
								t.Error(err)
								return
							}
							if changed {
								mu.Lock()
								changes[j.ID] = append(changes[j.ID], change{j.Seq, j.Progress, j.Status})
								if j.Status == job.StatusCompleted {
									completions++
								}
								mu.Unlock()
							}
						}
					}
				})
			}
			wg.Wait()
			if completions != jobs {
				t.Errorf("%d completions applied for %d jobs, want one each", completions, jobs)
			}
			seqs := map[int64]bool{}
			for id, cs := range changes {
				slices.SortFunc(cs, func(a, b change) int { return int(a.seq - b.seq) })
				for i, c := range cs {
					if seqs[c.seq] {
						t.Errorf("seq %d given to two changes", c.seq)
					}
					seqs[c.seq] = true
					if i > 0 && c.status == cs[i-1].status && c.progress <= cs[i-1].progress {
						t.Errorf("job %s: progress %v after %v in seq order", id, c.progress, cs[i-1].progress)
					}
				}
				if last := cs[len(cs)-1]; last.status != job.StatusCompleted {
					t.Errorf("job %s ends %s", id, last.status)
				}
			}

			// Two edits from the same revision, one on each replica.
			j, err := replicas[1].Job(ctx, u.ID, "j_0")
			if err != nil {
				t.Fatal(err)
			}
			saved, stale := 0, 0
			for _, s := range replicas {
				wg.Go(func() {
					_, _, err := s.SaveRevision(ctx, u.ID, j.ID, j.RevisionID, upstreamResult)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						saved++
					case errors.Is(err, job.ErrStale):
						stale++
					default:
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if saved != 1 || stale != 1 {
				t.Errorf("concurrent edits from one revision: %d saved, %d stale; want 1 and 1", saved, stale)
			}

			// More webhook endpoints than a user may have, asked for at once
			// on both replicas: the limit holds.
			made, refused := 0, 0
			for i := range store.MaxHookEndpoints + 6 {
				s := replicas[i%2]
				wg.Go(func() {
					_, err := s.CreateHookEndpoint(ctx, store.HookEndpoint{UserID: u.ID, URL: "https://hooks.example",
						Secret: "whsec_eA==", Events: []job.Event{job.EventCompleted}})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						made++
					case errors.Is(err, store.ErrTooManyHookEndpoints):
						refused++
					default:
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if made != store.MaxHookEndpoints || refused != 6 {
				t.Errorf("%d endpoints made and %d refused; want %d and 6", made, refused, store.MaxHookEndpoints)
			}
		})
	}
}
