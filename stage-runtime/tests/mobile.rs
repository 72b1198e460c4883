//! `#[actor(mobile)]`: the state is serialisable (serde's derive, through the
//! runtime), serde's field attributes work, and the actor is an ordinary actor here.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use stage_runtime::prelude::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Stamp {
    theatre: String,
    hop: u32,
}

#[actor(mobile)]
#[derive(Debug, PartialEq)]
struct Agent {
    hops: u32,
    trail: Vec<Stamp>,
    /// Rebuilt, not carried: comes back as `None`.
    #[serde(skip)]
    cache: Option<u64>,
}

#[behaviour]
impl Agent {
    #[on(hop)]
    fn hop(&mut self, stamp: Stamp) {
        self.hops += 1;
        self.trail.push(stamp);
    }

    #[query]
    fn trail(&self) -> Vec<Stamp> {
        self.trail.clone()
    }
}

#[actor(mobile)]
#[derive(Debug, PartialEq)]
enum Light {
    Off,
    On { brightness: u8 },
}

#[behaviour]
impl Light {
    #[request]
    fn dim(&mut self, to: u8) -> bool {
        match self {
            Light::Off => false,
            Light::On { brightness } => {
                *brightness = to;
                true
            }
        }
    }
}

fn round_trip<T: Serialize + DeserializeOwned>(value: &T) -> T {
    let bytes = rmp_serde::to_vec_named(value).expect("serialises");
    rmp_serde::from_slice(&bytes).expect("deserialises")
}

#[test]
fn a_mobile_actors_state_round_trips() {
    let agent = Agent {
        hops: 2,
        trail: vec![Stamp {
            theatre: "stage://a:1".into(),
            hop: 1,
        }],
        cache: None,
    };
    assert_eq!(round_trip(&agent), agent);

    let light = Light::On { brightness: 7 };
    assert_eq!(round_trip(&light), light);
    assert_eq!(round_trip(&Light::Off), Light::Off);
}

#[test]
fn a_skipped_field_comes_back_as_its_default() {
    let agent = Agent {
        hops: 3,
        trail: Vec::new(),
        cache: Some(42),
    };
    let back = round_trip(&agent);
    assert_eq!(back.hops, 3);
    assert_eq!(back.cache, None);
}

#[test]
fn a_mobile_actor_works_as_any_other_here() {
    let agent = spawn(Agent {
        hops: 0,
        trail: Vec::new(),
        cache: None,
    });
    let stamp = Stamp {
        theatre: "here".into(),
        hop: 1,
    };
    assert!(notify!(agent, hop(stamp.clone())).is_ok());
    assert_eq!(query!(agent, trail()).wait(), Ok(vec![stamp]));

    let light = spawn(Light::On { brightness: 3 });
    assert_eq!(request!(light, dim(1)).wait(), Ok(true));
}
