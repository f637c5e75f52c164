//! The simulation example (`examples/simulation.rs`) is deterministic: one seed, one
//! transcript; another seed, another transcript. Its scenarios end as the seed says.
#![cfg(feature = "openssl")]

#[path = "../examples/simulation.rs"]
mod simulation;

use simulation::simulate;

#[test]
fn same_seed_same_transcript() {
    for seed in 0..24 {
        let first = simulate(seed);
        assert_eq!(first, simulate(seed), "seed {seed}");
        assert!(first.contains("server handshake complete: TLSv1."), "{first}");
        assert!(first.contains("client handshake complete: TLSv1."), "{first}");
        assert!(first.ends_with("server closed: true\n"), "{first}");
    }
}

#[test]
fn different_seeds_different_transcripts() {
    let transcripts: Vec<String> = (0..24).map(simulate).collect();
    for (i, a) in transcripts.iter().enumerate() {
        for b in &transcripts[i + 1..] {
            assert_ne!(a, b);
        }
    }
    // Every way of ending occurs, and ends the server's session the way it should.
    let with = |ending: &str, server: &str| {
        transcripts
            .iter()
            .filter(|t| t.contains(ending))
            .inspect(|t| assert!(t.contains(server), "{t}"))
            .count()
    };
    assert!(with("ends by CloseNotify", "server closed: PeerClosed") > 0);
    assert!(with("ends by FinWithoutCloseNotify", "server closed: PeerEof") > 0);
    assert!(with("ends by GoQuiet", "server closed: Error(IdleTimeout)") > 0);
}
