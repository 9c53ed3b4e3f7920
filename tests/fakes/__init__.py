"""Local fakes of external providers at their HTTP boundary (Twilio, e-mail providers, the brands'
webhook receivers): real HTTP servers on 127.0.0.1 that check what we send and answer with payloads
shaped like the real API's. Test modules and benches import them; they import nothing of tests'."""
