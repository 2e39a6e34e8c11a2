# Compares what @flashgraph/models computed (out/flashgraph.json, from generate.ts) with
# transformers on the same tiny folders: logits of the prompt in float64, greedy generation,
# tokenizer ids and the rendered chat template. Run on the device machine:
#   python3 tooling/hf-parity/check.py tooling/hf-parity/out
import json, sys, os
import torch, transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

root = sys.argv[1]
data = json.load(open(os.path.join(root, 'flashgraph.json')))
print('transformers', transformers.__version__, 'torch', torch.__version__)
results = {}
ok = True
for name, ours in data['cases'].items():
    d = os.path.join(root, name)
    r = {}
    try:
        model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float64, attn_implementation='eager')
    except TypeError:
        model = AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float64, attn_implementation='eager')
    model.eval()
    ids = torch.tensor([ours['prompt']])
    with torch.no_grad():
        logits = model(ids).logits[0]
    mine = torch.tensor(ours['logits'], dtype=torch.float64)
    rel = ((logits - mine).abs().max() / logits.abs().max()).item()
    r['logits_rel_err'] = rel
    with torch.no_grad():
        gen = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=16, min_new_tokens=16,
                             eos_token_id=None, pad_token_id=0)
    hf_greedy = gen[0, ids.shape[1]:].tolist()
    r['greedy_equal'] = hf_greedy == ours['greedy']
    if not r['greedy_equal']:
        r['greedy_hf'] = hf_greedy
        r['greedy_ours'] = ours['greedy']
    # logprobs of our greedy tokens under transformers (teacher forcing)
    seq = torch.tensor([ours['prompt'] + ours['greedy']])
    with torch.no_grad():
        lp = torch.log_softmax(model(seq).logits[0], dim=-1)
    n = len(ours['prompt'])
    hf_lp = [lp[n - 1 + i, t].item() for i, t in enumerate(ours['greedy'])]
    r['logprob_max_abs_err'] = max(abs(a - b) for a, b in zip(hf_lp, ours['logprobs']))
    tok = AutoTokenizer.from_pretrained(d)
    enc = [tok(e['text'])['input_ids'] == e['ids'] for e in ours['encode']]
    r['encode_equal'] = all(enc)
    if not r['encode_equal']:
        r['encode_hf'] = [tok(e['text'])['input_ids'] for e in ours['encode']]
        r['encode_ours'] = [e['ids'] for e in ours['encode']]
    chat_text = tok.apply_chat_template(data['chat'], tokenize=False, add_generation_prompt=True)
    chat_ids = tok.apply_chat_template(data['chat'], tokenize=True, add_generation_prompt=True)
    if isinstance(chat_ids, dict) or hasattr(chat_ids, 'keys'):
        chat_ids = chat_ids['input_ids']
    r['chat_text_equal'] = chat_text == ours['chat']['text']
    r['chat_ids_equal'] = list(chat_ids) == ours['chat']['ids']
    if not (r['chat_text_equal'] and r['chat_ids_equal']):
        r['chat_hf'] = [chat_text, list(chat_ids)]
        r['chat_ours'] = [ours['chat']['text'], ours['chat']['ids']]
    good = rel < 1e-4 and r['greedy_equal'] and r['logprob_max_abs_err'] < 1e-4 and r['encode_equal'] and r['chat_text_equal'] and r['chat_ids_equal']
    ok = ok and good
    r['ok'] = good
    results[name] = r
    print(name, json.dumps(r))
out = os.environ.get('OUT')
if out:
    json.dump(results, open(os.path.join(out, 'hf-parity.json'), 'w'), indent=1)
print('ALL OK' if ok else 'MISMATCHES')
