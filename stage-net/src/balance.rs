//! Load balancing (Stage's ProbingLoadBalancer): not built yet. This is its room.
//!
//! What will live here: each theatre's probe of its load, a strategy (a trait)
//! that chooses which balanceable actors move where, keeping cliques together,
//! and the traffic-learning strategy that co-locates actors that talk much. It
//! will move actors through [`migration`](crate::migration).
