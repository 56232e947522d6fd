// The console's words in English and Simplified Chinese. Code writes the English text and calls t(); a missing
// entry shows the English (tests/test_console.py checks every label, heading and button of every page in zh-CN).
"use strict";

const ZH = {
  // header and sign-in
  "Tasks": "任务", "New": "新建", "Assets": "素材", "Usage": "用量", "Admin": "管理", "Sign out": "退出登录",
  "Sign in": "登录", "API key": "API 密钥", "Dark theme": "深色模式", "Light theme": "浅色模式",
  "Switch to dark theme": "切换到深色模式", "Switch to light theme": "切换到浅色模式",
  "The key stays in this browser (localStorage) and is sent as Authorization: Bearer.":
    "密钥只保存在此浏览器（localStorage）中，以 Authorization: Bearer 发送。",
  "Self-hosted Seedance-compatible video generation.": "自托管、兼容 Seedance 的视频生成服务。",
  // task list
  "Status": "状态", "Model": "模型", "Search": "搜索", "any": "全部", "Create a task": "创建任务",
  "Prompt, task ID or model": "提示词、任务 ID 或模型", "Preview": "预览", "Task": "任务", "Progress": "进度",
  "Prompt": "提示词", "Created": "创建时间", "Actions": "操作", "Cancel": "取消", "Delete": "删除",
  "Previous": "上一页", "Next": "下一页", "connecting…": "连接中…", "● live": "● 实时", "reconnecting…": "重新连接中…",
  "No tasks yet.": "还没有任务。", "No tasks match.": "没有匹配的任务。", "Per page": "每页",
  "{a}–{b} of {n}": "第 {a}–{b} 条，共 {n} 条", "{n} task(s)": "{n} 个任务",
  "about {s} left": "约剩 {s}", "waiting for a worker": "等待处理", "starting": "启动中",
  "queued": "排队中", "running": "生成中", "succeeded": "成功", "failed": "失败", "cancelled": "已取消",
  "expired": "已过期", "processing": "处理中", "ready": "就绪", "pending": "待发送", "delivered": "已送达",
  "dead": "已放弃",
  "Delete {id} and its files?": "删除 {id} 及其文件？",
  // task page
  "Video": "视频", "Last frame": "尾帧", "Download": "下载", "Download the last frame": "下载尾帧",
  "Re-run with edits": "修改后重新生成", "Make the final video": "生成正式视频", "Parameters": "参数",
  "Timings": "时间", "Webhook deliveries": "Webhook 推送", "Reproduce this request": "复现此请求", "Copy": "复制",
  "Copied": "已复制", "Select the text to copy": "请选中文本复制", "Mode": "模式", "Resolution": "分辨率",
  "Ratio": "宽高比", "Size": "尺寸", "Duration": "时长", "Frames": "帧数", "Seed": "种子", "Audio": "音频",
  "Draft": "样片", "Service tier": "服务等级", "Dialect": "接口方言", "Engine": "引擎", "Media": "输入素材", "auto": "自动",
  "none": "无", "yes": "是", "no": "否", "Started": "开始时间", "Finished": "完成时间", "Waited in queue": "排队用时",
  "Ran": "生成用时", "Links expire": "链接过期时间", "Run deadline": "运行截止时间",
  "Usage is known once the task succeeds.": "任务成功后显示用量。",
  "No webhook deliveries (no callback_url and no subscribed endpoint).": "没有 Webhook 推送（未设置 callback_url，也没有订阅端点）。",
  "URL": "URL", "Attempts": "尝试次数", "Last error": "最后错误", "This task is {s}.": "此任务{s}。",
  "completion_tokens": "输出 tokens", "total_tokens": "总 tokens",
  // create form
  "New task": "新建任务", "Re-run of {id}": "基于 {id} 重新生成", "Options": "选项", "Duration (seconds)": "时长（秒）",
  "Generate audio": "生成音频", "Draft (480p preview)": "样片（480p 预览）", "Return the last frame": "返回尾帧",
  "Create task": "创建任务", "Sending…": "发送中…", "model default": "模型默认", "model default ({v})": "模型默认（{v}）",
  "This will cost about {total}": "预计费用约 {total}", "No price is set for this model.": "此模型未设置价格。",
  "random": "随机", "What happens in the video": "描述视频中发生的事情", "text to video": "文生视频",
  "first frame": "首帧生视频", "first + last frame": "首尾帧生视频", "multimodal reference": "多模态参考",
  "(not supported)": "（不支持）", "upload": "上传", "url": "URL", "asset": "素材库", "choose an asset": "选择素材",
  "Remove": "移除", "+ image": "+ 图片", "+ video": "+ 视频", "+ audio": "+ 音频",
  "First frame": "首帧", "Reference image": "参考图片", "Reference video": "参考视频", "Reference audio": "参考音频",
  "{x} source": "{x}来源", "{x} file": "{x}文件", "{x} URL": "{x} URL", "{x} asset": "{x}素材",
  "Attach this file again: the original was sent inline.": "请重新上传此文件：原请求是内联发送的。",
  // the form's rules (rules.js)
  "choose a model": "请选择模型",
  "{id} does not support {mode} generation; it supports: {list}": "{id} 不支持{mode}；支持：{list}",
  "text-to-video needs a prompt": "文生视频需要填写提示词",
  "the prompt has {n} characters; {id} takes at most {max}": "提示词有 {n} 个字符；{id} 最多 {max} 个",
  "the first frame is missing (upload, URL or asset)": "缺少首帧（上传、URL 或素材）",
  "the last frame is missing (upload, URL or asset)": "缺少尾帧（上传、URL 或素材）",
  "{id} does not accept reference images": "{id} 不接受参考图片",
  "{id} does not accept reference videos": "{id} 不接受参考视频",
  "{id} does not accept reference audios": "{id} 不接受参考音频",
  "{id} accepts {low} to {high} reference images, got {n}": "{id} 接受 {low} 到 {high} 张参考图片，当前 {n} 张",
  "{id} accepts {low} to {high} reference videos, got {n}": "{id} 接受 {low} 到 {high} 个参考视频，当前 {n} 个",
  "{id} accepts {low} to {high} reference audios, got {n}": "{id} 接受 {low} 到 {high} 个参考音频，当前 {n} 个",
  "{id} needs at least one reference image or video alongside audio": "{id} 使用参考音频时至少还需要一张参考图片或一个参考视频",
  "reference mode needs at least one image, video or audio": "多模态参考至少需要一张图片、一个视频或一段音频",
  "{id} takes media only as asset:// references: upload the file or pick an asset":
    "{id} 只接受 asset:// 素材引用：请上传文件或选择素材",
  "resolution {v} is not available for {id} in {mode} mode; allowed: {list}": "{id} 在 {mode} 模式下不支持分辨率 {v}；可选：{list}",
  "ratio {v} is not available for {id} in {mode} mode; allowed: {list}": "{id} 在 {mode} 模式下不支持宽高比 {v}；可选：{list}",
  "duration must be a whole number in [{min}, {max}] (or -1) for {id}": "{id} 的时长须为 [{min}, {max}] 内的整数（或 -1）",
  "duration must be a whole number in [{min}, {max}] for {id}": "{id} 的时长须为 [{min}, {max}] 内的整数",
  "{v} s is not an allowed duration for {id}; allowed: {list}": "{id} 不支持 {v} 秒时长；可选：{list}",
  "seed must be in [-1, {max}]": "种子须在 [-1, {max}] 内",
  "{id} makes silent videos; untick audio": "{id} 生成无声视频；请取消勾选音频",
  "draft mode is not supported by {id}": "{id} 不支持样片模式",
  "draft videos are 480p only": "样片只有 480p",
  "return last frame cannot be used with draft; untick it": "样片不能返回尾帧；请取消勾选",
  "adaptive": "自适应", "auto length": "自动时长", "audio": "音频", "draft": "样片", "refs: {i} img, {v} video, {a} audio":
    "参考：{i} 图片 / {v} 视频 / {a} 音频",
  // assets
  "File": "文件", "Name": "名称", "Group": "分组", "no group": "不分组", "Upload": "上传", "New group name": "新分组名称",
  "Create group": "创建分组", "Filter by group": "按分组筛选", "all groups": "全部分组", "Asset": "素材",
  "Kind": "类型", "Audit": "审核", "or https://...": "或 https://...", "choose a file or give a URL": "请选择文件或填写 URL",
  // usage
  "Usage by day and model": "按日期和模型统计", "Period": "时间范围", "last {n} days": "最近 {n} 天", "Key": "密钥",
  "this key": "当前密钥", "all keys": "全部密钥", "Day": "日期", "Succeeded": "成功", "Failed": "失败",
  "Video seconds": "视频秒数", "Tokens": "Tokens", "Total": "合计", "By model": "按模型",
  "No tasks in this period.": "此时间范围内没有任务。", "Cost": "费用", "Estimated cost": "预估费用",
  "Reserved by unfinished tasks": "未完成任务预留",
  "Counted from the tasks this server still keeps (finished tasks are removed after the retention period).":
    "根据服务器仍保留的任务统计（已完成的任务超过保留期后会被删除）。",
  // admin
  "API keys": "API 密钥", "Key name": "密钥名称", "Create key": "创建密钥", "ID": "ID", "Revoked": "已吊销",
  "Revoke": "吊销", "New key (shown once): ": "新密钥（仅显示一次）：", "Upstream channels": "上游渠道",
  "Base URL": "基础 URL", "Models": "模型", "Priority": "优先级",
  "No upstream channels: every model runs locally.": "没有上游渠道：所有模型都在本机运行。",
  "This page needs an admin key.": "此页面需要管理员密钥。",
};

const I18N = {
  lang: "en",
  init() {
    const saved = localStorage.getItem("seedgate.lang");
    I18N.lang = saved || ((navigator.language || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en");
    document.documentElement.lang = I18N.lang;
  },
  set(lang) {
    I18N.lang = lang;
    localStorage.setItem("seedgate.lang", lang);
    document.documentElement.lang = lang;
  },
};

// t("{n} task(s)", {n: 3}): the text in the chosen language with the {names} filled in.
function t(text, vars) {
  let out = I18N.lang === "zh-CN" && Object.prototype.hasOwnProperty.call(ZH, text) ? ZH[text] : text;
  if (vars) for (const [k, v] of Object.entries(vars)) out = out.split(`{${k}}`).join(String(v));
  return out;
}

I18N.init();
