//! The baseline: every record synced with Automerge's own per-document sync protocol
//! (`automerge::sync::{State, SyncDoc}`), as a document repository would do it.
//!
//! The wire is a plain TCP stream of length-prefixed frames. One frame from the client and the
//! server's answer make one round trip; a frame carries one sync message per document that has
//! something to say (the per-document messages of a round are pipelined, which is the most
//! favourable way to run this protocol over a slow link; run one document at a time it would
//! cost one round trip per document and message round).
//!
//! Frame: `u32 length` (of the rest), `16 bytes peer id`, `u8 flags`, `u32 count`, then per
//! message `16 bytes document id`, `u32 length`, the Automerge sync message.
//!
//! Per round the server applies every received message, then generates a message for every
//! document it holds (with [`ANNOUNCE_ALL`]; the client learns which documents exist) or only
//! for the documents this session touched. Both sides keep each peer's per-document sync
//! state between sessions (`State::encode`/`decode`), as a repository with persistent sync
//! states would, so that a reconnect is as cheap as this protocol allows.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use automerge::Automerge;
use automerge::sync::{Message, State, SyncDoc};
use ferry_tests::r#gen;
use sync_core::doc::{Author, Edit, RecordDoc};
use sync_core::model::Record;
use uuid::Uuid;

/// Flag: the server answers for every document it holds, not only those of this session.
pub const ANNOUNCE_ALL: u8 = 1;
/// Flag (set-up only, not measured): copy the persisted sync states of the peer named in the
/// first message's id field to this frame's peer.
pub const CLONE_PEER: u8 = 2;

/// The actor that created the seeded documents.
pub const SEED_ACTOR: [u8; 16] = [0x5e; 16];

/// One frame.
#[derive(Debug, Default)]
pub struct Frame {
    pub peer: [u8; 16],
    pub flags: u8,
    pub msgs: Vec<(Uuid, Vec<u8>)>,
}

impl Frame {
    fn encoded_len(&self) -> usize {
        4 + 16 + 1 + 4 + self.msgs.iter().map(|(_, m)| 20 + m.len()).sum::<usize>()
    }

    pub fn write(&self, w: &mut impl Write) -> std::io::Result<usize> {
        let len = self.encoded_len();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&((len - 4) as u32).to_be_bytes());
        out.extend_from_slice(&self.peer);
        out.push(self.flags);
        out.extend_from_slice(&(self.msgs.len() as u32).to_be_bytes());
        for (id, m) in &self.msgs {
            out.extend_from_slice(id.as_bytes());
            out.extend_from_slice(&(m.len() as u32).to_be_bytes());
            out.extend_from_slice(m);
        }
        w.write_all(&out)?;
        w.flush()?;
        Ok(len)
    }

    pub fn read(r: &mut impl Read) -> std::io::Result<(Frame, usize)> {
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed frame");
        let mut len = [0u8; 4];
        r.read_exact(&mut len)?;
        let len = u32::from_be_bytes(len) as usize;
        if !(21..=1 << 30).contains(&len) {
            return Err(bad());
        }
        let mut buf = vec![0u8; len];
        r.read_exact(&mut buf)?;
        let mut peer = [0u8; 16];
        peer.copy_from_slice(&buf[..16]);
        let flags = buf[16];
        let count = u32::from_be_bytes(buf[17..21].try_into().map_err(|_| bad())?) as usize;
        let mut msgs = Vec::with_capacity(count.min(1 << 20));
        let mut at = 21;
        for _ in 0..count {
            if at + 20 > buf.len() {
                return Err(bad());
            }
            let id = Uuid::from_slice(&buf[at..at + 16]).map_err(|_| bad())?;
            let n =
                u32::from_be_bytes(buf[at + 16..at + 20].try_into().map_err(|_| bad())?) as usize;
            at += 20;
            if at + n > buf.len() {
                return Err(bad());
            }
            msgs.push((id, buf[at..at + n].to_vec()));
            at += n;
        }
        Ok((Frame { peer, flags, msgs }, len + 4))
    }
}

// --- server (a child process) -------------------------------------------------------------

struct ServerState {
    docs: HashMap<Uuid, Automerge>,
    order: Vec<Uuid>,
    persisted: HashMap<([u8; 16], Uuid), Vec<u8>>,
}

/// Runs the baseline server: builds the same records as the Ferry benchmark as documents,
/// prints `listening on ADDR`, and serves until killed.
pub fn serve(records: usize, seed: u64) -> anyhow::Result<()> {
    let state = build(records, seed)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("listening on {}", listener.local_addr()?);
    serve_on(listener, state);
    Ok(())
}

fn build(records: usize, seed: u64) -> anyhow::Result<Arc<Mutex<ServerState>>> {
    let author = Author::new(&SEED_ACTOR, r#gen::REFERENCE_MS);
    let mut state = ServerState {
        docs: HashMap::with_capacity(records),
        order: Vec::with_capacity(records),
        persisted: HashMap::new(),
    };
    for r in r#gen::records(seed, records) {
        let (doc, _) = RecordDoc::create(&r, &author)?;
        state.order.push(r.id);
        state.docs.insert(r.id, doc.automerge().clone());
    }
    Ok(Arc::new(Mutex::new(state)))
}

fn serve_on(listener: TcpListener, state: Arc<Mutex<ServerState>>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let state = state.clone();
        std::thread::spawn(move || {
            let _ = session(stream, &state);
        });
    }
}

fn session(stream: TcpStream, state: &Mutex<ServerState>) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let mut r = BufReader::with_capacity(1 << 16, stream.try_clone()?);
    let mut w = BufWriter::with_capacity(1 << 16, stream);
    let mut peer = [0u8; 16];
    let mut states: HashMap<Uuid, State> = HashMap::new();
    let result = (|| -> anyhow::Result<()> {
        for _ in 0..10_000 {
            let (frame, _) = match Frame::read(&mut r) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            peer = frame.peer;
            let mut st = state.lock().map_err(|_| anyhow!("poisoned"))?;
            let st = &mut *st;
            if frame.flags & CLONE_PEER != 0 {
                let from = *frame
                    .msgs
                    .first()
                    .map(|(id, _)| id.as_bytes())
                    .ok_or_else(|| anyhow!("no source"))?;
                let copies: Vec<_> = st
                    .persisted
                    .iter()
                    .filter(|((p, _), _)| *p == from)
                    .map(|((_, d), s)| ((peer, *d), s.clone()))
                    .collect();
                st.persisted.extend(copies);
                Frame::default().write(&mut w)?;
                continue;
            }
            for (id, bytes) in frame.msgs {
                let msg = Message::decode(&bytes).map_err(|e| anyhow!("message: {e}"))?;
                if !st.docs.contains_key(&id) {
                    st.order.push(id);
                }
                let doc = st.docs.entry(id).or_default();
                let s = states
                    .entry(id)
                    .or_insert_with(|| restore(&st.persisted, peer, id));
                doc.receive_sync_message(s, msg)?;
            }
            let mut reply = Frame::default();
            let ids: Vec<Uuid> = if frame.flags & ANNOUNCE_ALL != 0 {
                st.order.clone()
            } else {
                states.keys().copied().collect()
            };
            for id in ids {
                let Some(doc) = st.docs.get(&id) else {
                    continue;
                };
                let s = states
                    .entry(id)
                    .or_insert_with(|| restore(&st.persisted, peer, id));
                if let Some(m) = doc.generate_sync_message(s) {
                    reply.msgs.push((id, m.encode()));
                }
            }
            reply.write(&mut w)?;
        }
        Ok(())
    })();
    if let Ok(mut st) = state.lock() {
        for (id, s) in states {
            st.persisted.insert((peer, id), s.encode());
        }
    }
    result
}

fn restore(persisted: &HashMap<([u8; 16], Uuid), Vec<u8>>, peer: [u8; 16], id: Uuid) -> State {
    persisted
        .get(&(peer, id))
        .and_then(|b| State::decode(b).ok())
        .unwrap_or_default()
}

/// The baseline server child process.
#[derive(Debug)]
pub struct BaselineServer {
    child: std::process::Child,
    pub addr: SocketAddr,
}

impl BaselineServer {
    /// Starts `exe --serve-baseline --records N --seed S` and waits for its address.
    pub fn start(records: usize, seed: u64) -> anyhow::Result<BaselineServer> {
        use std::io::BufRead;
        let exe = std::env::current_exe()?;
        let mut child = std::process::Command::new(exe)
            .args([
                "--serve-baseline",
                "--records",
                &records.to_string(),
                "--seed",
                &seed.to_string(),
            ])
            .stdout(std::process::Stdio::piped())
            .stdin(std::process::Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(a) = line.strip_prefix("listening on ") {
                    let _ = tx.send(a.trim().to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(600))
            .context("baseline server did not start")?
            .parse()?;
        Ok(BaselineServer { child, addr })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for BaselineServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// --- client -------------------------------------------------------------------------------

/// What one session cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct Session {
    /// Round trips (frame + answer).
    pub rounds: u64,
    /// Frame bytes sent and received.
    pub up: u64,
    pub down: u64,
    /// Per-document messages sent and received.
    pub msgs_up: u64,
    pub msgs_down: u64,
    /// The same frames compressed with zstd (what compressing the baseline's frames would
    /// save; not sent).
    pub zstd_up: u64,
    pub zstd_down: u64,
}

impl std::ops::AddAssign for Session {
    fn add_assign(&mut self, o: Session) {
        self.rounds += o.rounds;
        self.up += o.up;
        self.down += o.down;
        self.msgs_up += o.msgs_up;
        self.msgs_down += o.msgs_down;
        self.zstd_up += o.zstd_up;
        self.zstd_down += o.zstd_down;
    }
}

/// A device holding documents in memory with persisted per-document sync states.
#[derive(Debug)]
pub struct Client {
    pub peer: [u8; 16],
    pub docs: HashMap<Uuid, Automerge>,
    persisted: HashMap<Uuid, Vec<u8>>,
    actor: [u8; 16],
}

fn zlen(b: &[u8]) -> u64 {
    zstd::bulk::compress(b, 3)
        .map(|z| z.len() as u64)
        .unwrap_or(b.len() as u64)
}

impl Client {
    pub fn new() -> Client {
        Client {
            peer: *Uuid::new_v4().as_bytes(),
            docs: HashMap::new(),
            persisted: HashMap::new(),
            actor: *Uuid::new_v4().as_bytes(),
        }
    }

    /// A copy with a new peer id and actor (a second device holding the same documents and
    /// the same persisted sync states). Tell the server with [`Client::register_clone`].
    pub fn clone_device(&self) -> Client {
        Client {
            peer: *Uuid::new_v4().as_bytes(),
            docs: self.docs.iter().map(|(k, v)| (*k, v.clone())).collect(),
            persisted: self.persisted.clone(),
            actor: *Uuid::new_v4().as_bytes(),
        }
    }

    /// Set-up only: the server copies `source`'s persisted sync states to this peer.
    pub fn register_clone(&self, addr: SocketAddr, source: [u8; 16]) -> anyhow::Result<()> {
        let s = TcpStream::connect(addr)?;
        let mut w = BufWriter::new(s.try_clone()?);
        let mut r = BufReader::new(s);
        Frame {
            peer: self.peer,
            flags: CLONE_PEER,
            msgs: vec![(Uuid::from_bytes(source), Vec::new())],
        }
        .write(&mut w)?;
        Frame::read(&mut r)?;
        Ok(())
    }

    /// Applies a small edit to a document as this device (as the officer's app would).
    pub fn edit(&mut self, id: Uuid, edits: &[Edit], now_ms: i64) -> anyhow::Result<u64> {
        let doc = self
            .docs
            .get_mut(&id)
            .ok_or_else(|| anyhow!("no such document"))?;
        let mut rd = RecordDoc::load(&doc.save())?;
        let Some(change) = rd.edit(edits, &Author::new(&self.actor, now_ms))? else {
            return Ok(0);
        };
        let len = change.raw_bytes().len() as u64;
        doc.apply_changes([change])?;
        Ok(len)
    }

    /// Creates a new document for a record.
    pub fn create(&mut self, record: &Record, now_ms: i64) -> anyhow::Result<()> {
        let (doc, _) = RecordDoc::create(record, &Author::new(&self.actor, now_ms))?;
        self.docs.insert(record.id, doc.automerge().clone());
        Ok(())
    }

    /// One sync session over a new connection to `addr`. With `announce_all` the server offers
    /// every document it holds; `only` limits the documents this device talks about (a device
    /// fetching a few documents).
    pub fn sync(
        &mut self,
        addr: SocketAddr,
        announce_all: bool,
        only: Option<&[Uuid]>,
    ) -> anyhow::Result<Session> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(3600)))?;
        let mut w = BufWriter::with_capacity(1 << 16, stream.try_clone()?);
        let mut r = BufReader::with_capacity(1 << 16, stream);
        let mut states: HashMap<Uuid, State> = HashMap::new();
        let mut session = Session::default();
        let flags = if announce_all { ANNOUNCE_ALL } else { 0 };
        let ids: Vec<Uuid> = match only {
            Some(ids) => ids.to_vec(),
            None => self.docs.keys().copied().collect(),
        };
        // Documents asked for by id that are not here yet start empty.
        for id in &ids {
            self.docs.entry(*id).or_default();
        }
        let mut round = 0;
        loop {
            let mut frame = Frame {
                peer: self.peer,
                flags,
                msgs: Vec::new(),
            };
            let talk: Vec<Uuid> = if round == 0 {
                ids.clone()
            } else {
                let mut t: Vec<Uuid> = states.keys().copied().collect();
                t.sort();
                t
            };
            for id in talk {
                let Some(doc) = self.docs.get(&id) else {
                    continue;
                };
                let persisted = &self.persisted;
                let s = states.entry(id).or_insert_with(|| {
                    persisted
                        .get(&id)
                        .and_then(|b| State::decode(b).ok())
                        .unwrap_or_default()
                });
                if let Some(m) = doc.generate_sync_message(s) {
                    frame.msgs.push((id, m.encode()));
                }
            }
            if round > 0 && frame.msgs.is_empty() {
                break;
            }
            if round >= 100 {
                bail!("baseline session did not converge in 100 rounds");
            }
            session.msgs_up += frame.msgs.len() as u64;
            let mut raw = Vec::new();
            frame.write(&mut raw)?;
            session.zstd_up += zlen(&raw);
            w.write_all(&raw)?;
            w.flush()?;
            session.up += raw.len() as u64;
            let (reply, n) = Frame::read(&mut r)?;
            session.down += n as u64;
            session.rounds += 1;
            session.msgs_down += reply.msgs.len() as u64;
            let mut raw = Vec::new();
            reply.write(&mut raw)?;
            session.zstd_down += zlen(&raw);
            for (id, bytes) in reply.msgs {
                let msg = Message::decode(&bytes).map_err(|e| anyhow!("message: {e}"))?;
                let doc = self.docs.entry(id).or_default();
                let persisted = &self.persisted;
                let s = states.entry(id).or_insert_with(|| {
                    persisted
                        .get(&id)
                        .and_then(|b| State::decode(b).ok())
                        .unwrap_or_default()
                });
                doc.receive_sync_message(s, msg)?;
            }
            round += 1;
        }
        for (id, s) in states {
            self.persisted.insert(id, s.encode());
        }
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(records: usize) -> SocketAddr {
        let state = build(records, 3).expect("documents");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || serve_on(listener, state));
        addr
    }

    #[test]
    fn frames_round_trip() {
        let f = Frame {
            peer: [1; 16],
            flags: ANNOUNCE_ALL,
            msgs: vec![
                (Uuid::from_bytes([2; 16]), vec![1, 2, 3]),
                (Uuid::nil(), Vec::new()),
            ],
        };
        let mut buf = Vec::new();
        let n = f.write(&mut buf).expect("write");
        assert_eq!(n, buf.len());
        let (g, m) = Frame::read(&mut buf.as_slice()).expect("read");
        assert_eq!(
            (g.peer, g.flags, g.msgs.clone(), m),
            (f.peer, f.flags, f.msgs, n)
        );
        assert!(Frame::read(&mut &buf[..n - 1]).is_err());
    }

    #[test]
    fn a_cold_pull_gets_every_document_and_a_reconnect_costs_one_message_each_way_per_document() {
        let addr = server(40);
        let mut phone = Client::new();
        let cold = phone.sync(addr, true, None).expect("cold pull");
        assert_eq!(phone.docs.len(), 40);
        assert!(cold.rounds >= 2, "{cold:?}");
        let noop = phone.sync(addr, true, None).expect("reconnect");
        // Each side states its heads once per document and session, then both are done.
        assert_eq!(
            (noop.rounds, noop.msgs_up, noop.msgs_down),
            (1, 40, 40),
            "{noop:?}"
        );
    }

    #[test]
    fn an_edit_by_another_device_reaches_the_phone() {
        let addr = server(10);
        let mut phone = Client::new();
        phone.sync(addr, true, None).expect("cold pull");
        let id = *phone.docs.keys().next().expect("a document");
        let mut other = Client::new();
        other.sync(addr, false, Some(&[id])).expect("fetch one");
        let edit = Edit::Set {
            field: "notes".into(),
            value: "ghi chú".into(),
        };
        assert!(other.edit(id, &[edit], 1).expect("edit") > 0);
        other.sync(addr, false, Some(&[id])).expect("push");
        let s = phone.sync(addr, true, None).expect("pull");
        assert!(s.msgs_down >= 1);
        let doc = RecordDoc::load(&phone.docs[&id].save()).expect("load");
        assert_eq!(doc.read().expect("read").text("notes"), Some("ghi chú"));
    }
}
