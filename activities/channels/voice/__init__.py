"""The voice channel: a call's audio pipeline (VAD → STT → the lead → TTS), SIP and WebRTC transports."""
