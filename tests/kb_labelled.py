"""A labelled set for the knowledge-base suggestions in acknowledgements: a knowledge base as a support team
writes one, new mails as reporters write them, and which articles would help each reporter.

``PAIRS`` are (query, article title, relevant?) triples read from ``QUERIES``: each query's relevant
articles, and the articles a careless match would offer (a CRM article for an OA outage). Any other
article suggested for a query counts as irrelevant too. ``bench/kb_relevance.py`` prints precision
and recall over it for a range of bars; ``tests/test_kb_suggestions.py`` holds the chosen bar to them.
"""

from __future__ import annotations

from dataclasses import dataclass

# (title, problem, solution, tags)
ARTICLES: list[tuple[str, str, str, list[str]]] = [
    ("OA账号锁定", "连续输错密码五次后OA账号被锁定，无法登录",
     "在AD管理中心解锁账号。提醒用户30分钟后也会自动解锁，解锁后请修改密码。",
     ["账号", "OA"]),
    ("OA系统无法访问", "OA首页打不开，浏览器提示502 Bad Gateway，全公司无法访问",
     "重启OA应用服务器上的Tomcat服务，再检查负载均衡的健康检查。",
     ["OA"]),
    ("CRM系统无法登录", "销售登录CRM时提示用户名或密码错误",
     "在CRM后台重置该用户的密码，并确认账号没有过期。",
     ["CRM"]),
    ("CRM客户数据导出失败", "在CRM导出客户名单时页面超时",
     "按地区分批导出；数据量大时请在晚上八点后导出。",
     ["CRM"]),
    ("邮箱密码重置", "忘记邮箱密码，无法收发邮件",
     "通过自助门户 https://id.example.com 重置密码，或联系管理员。",
     ["邮箱"]),
    ("邮箱容量已满", "收件箱提示容量已满，收不到新邮件",
     "清空“已删除邮件”文件夹并归档旧邮件；仍不够时申请扩容。",
     ["邮箱"]),
    ("打印机卡纸处理", "三楼打印机卡纸，打印任务一直排队",
     "打开后盖取出卡纸，重启打印机并清空打印队列。",
     ["打印机"]),
    ("打印机驱动安装", "新电脑无法添加网络打印机",
     "在文件管理器输入 \\\\print01 连接打印服务器，双击打印机自动安装驱动。",
     ["打印机"]),
    ("VPN无法连接", "在家连接VPN提示错误 809",
     "检查家里路由器是否放行 UDP 500/4500，并把客户端更新到最新版本。",
     ["vpn"]),
    ("ERP报表导出失败", "财务在ERP导出报表时提示内存不足",
     "缩小日期范围分批导出，或联系ERP管理员调整导出上限。",
     ["erp"]),
    ("ERP登录报错", "登录ERP提示 Error 500",
     "清除浏览器缓存后重试；仍报错时由管理员重启ERP应用服务。",
     ["erp"]),
    ("申请共享文件夹权限", "需要访问部门共享盘的权限",
     "提交权限申请单，由部门负责人审批后开通。",
     ["权限"]),
    ("电脑蓝屏", "开机后蓝屏 0x0000007B",
     "进入BIOS把硬盘模式改回AHCI。",
     ["硬件"]),
    ("显示器不亮", "开机后显示器黑屏，电源灯是橙色",
     "检查视频线两头是否插紧，换一根线或换一个接口再试。",
     ["硬件"]),
    ("Outlook cannot send mail", "Outlook shows error 0x800CCC0F when sending",
     "Check that SMTP uses port 587 with TLS.",
     ["mail"]),
    ("Wi-Fi 连不上", "办公室无线网络连接不上，提示无法加入网络",
     "在电脑上忘记该网络后重新连接；仍不行时登记MAC地址。",
     ["网络"]),
    ("会议室投影仪无信号", "投影仪显示无信号",
     "用遥控器把输入源切到 HDMI，并确认笔记本已扩展显示。",
     ["会议室"]),
    ("报销系统附件上传失败", "上传发票附件时提示文件过大",
     "把附件压缩到 10MB 以下，或拆成几个文件上传。",
     ["报销系统"]),
    ("考勤系统打卡异常", "手机打卡提示不在考勤范围内",
     "打开手机定位权限，并在考勤App里刷新位置后再打卡。",
     ["考勤"]),
    ("新员工开通账号", "新员工入职需要开通邮箱、OA和VPN账号",
     "由部门提交入职IT申请单，IT在一个工作日内开通全部账号。",
     ["账号"]),
]


@dataclass(frozen=True)
class Query:
    """A new ticket's subject and the opening of its mail, the articles that would help, and near misses."""

    subject: str
    body: str
    relevant: tuple[str, ...] = ()
    not_relevant: tuple[str, ...] = ()


QUERIES: list[Query] = [
    Query("OA系统打不开", "今天早上OA首页一直502，全部门都进不去",
          ("OA系统无法访问",), ("CRM系统无法登录", "OA账号锁定")),
    Query("OA登录不了，提示账号已锁定", "您好，我是销售部李娜，早上输错几次密码后OA就锁了，麻烦尽快处理，谢谢！",
          ("OA账号锁定",), ("CRM系统无法登录", "ERP登录报错")),
    Query("OA宕机了", "整个OA都访问不了",
          ("OA系统无法访问",), ("CRM系统无法登录",)),
    Query("OA 登不上", "早上开始就登不上",
          ("OA账号锁定", "OA系统无法访问"), ("CRM系统无法登录",)),
    Query("CRM登录提示密码错误", "销售部小王登录CRM总说密码错",
          ("CRM系统无法登录",), ("OA账号锁定", "邮箱密码重置")),
    Query("CRM 登不上", "一直转圈然后提示密码错误",
          ("CRM系统无法登录",), ("OA账号锁定",)),
    Query("CRM导出客户名单超时", "导出到一半页面就超时了",
          ("CRM客户数据导出失败",), ("ERP报表导出失败",)),
    Query("CRM系统很慢", "打开客户详情要一分钟",
          (), ("CRM系统无法登录", "CRM客户数据导出失败")),
    Query("忘记邮箱密码了", "王工你好，我休假回来忘记邮箱密码了，收不了邮件。",
          ("邮箱密码重置",), ("CRM系统无法登录",)),
    Query("邮箱满了收不到邮件", "提示容量已满",
          ("邮箱容量已满",), ("邮箱密码重置",)),
    Query("邮件发不出去", "点发送没反应",
          (), ("邮箱容量已满",)),
    Query("打印机卡纸了", "您好，三楼那台打印机一直卡纸，月底报表急着打，辛苦看一下。",
          ("打印机卡纸处理",), ("打印机驱动安装",)),
    Query("新电脑添加不了打印机", "找不到网络打印机",
          ("打印机驱动安装",), ("打印机卡纸处理",)),
    Query("VPN连不上 错误809", "您好，我在家用VPN提示809，明天要用，谢谢。",
          ("VPN无法连接",), ("Wi-Fi 连不上",)),
    Query("在家连不上公司VPN", "晚上要加班，VPN一直连接失败",
          ("VPN无法连接",), ("Wi-Fi 连不上",)),
    Query("VPN cannot connect from home", "error 809 since yesterday",
          ("VPN无法连接",), ("Outlook cannot send mail",)),
    Query("ERP导出报表失败", "财务部张伟：月底导出报表时ERP提示内存不足，急！",
          ("ERP报表导出失败",), ("CRM客户数据导出失败",)),
    Query("ERP登录报500错误", "打开ERP就是Error 500",
          ("ERP登录报错",), ("ERP报表导出失败", "OA系统无法访问")),
    Query("需要开通财务共享盘权限", "您好，我刚调岗到财务部，需要访问部门共享盘，谢谢。",
          ("申请共享文件夹权限",), ("新员工开通账号",)),
    Query("共享盘没有权限", "打开部门共享盘提示拒绝访问",
          ("申请共享文件夹权限",), ()),
    Query("电脑开机蓝屏", "您好，我的电脑今天开机就蓝屏，代码 7B，谢谢。",
          ("电脑蓝屏",), ("显示器不亮",)),
    Query("显示器黑屏", "主机在响但是屏幕不亮",
          ("显示器不亮",), ("电脑蓝屏",)),
    Query("Outlook error when sending", "0x800CCC0F",
          ("Outlook cannot send mail",), ("VPN无法连接",)),
    Query("无线网络连不上", "会议室连不上Wi-Fi",
          ("Wi-Fi 连不上",), ("VPN无法连接",)),
    Query("会议室投影仪没有信号", "下午两点要开会，三楼会议室接上电脑后投影仪显示无信号，请尽快。",
          ("会议室投影仪无信号",), ()),
    Query("投影仪连不上电脑", "HDMI 插上没反应",
          ("会议室投影仪无信号",), ()),
    Query("报销上传发票失败", "提示文件过大",
          ("报销系统附件上传失败",), ()),
    Query("考勤打卡定位失败", "手机打卡说不在范围",
          ("考勤系统打卡异常",), ()),
    Query("打卡显示不在考勤范围内", "人就在公司",
          ("考勤系统打卡异常",), ()),
    Query("新同事入职开账号", "下周一入职，需要邮箱和OA",
          ("新员工开通账号",), ("OA账号锁定",)),
    Query("网络很慢", "打开网页很慢",
          (), ("Wi-Fi 连不上",)),
    Query("求助", "有个问题想请教",
          (), ()),
    Query("电话分机没声音", "座机拿起来没有拨号音",
          (), ()),
    Query("空调太冷", "三楼会议室空调太冷",
          (), ("会议室投影仪无信号",)),
    Query("OA审批流程怎么修改", "想加一个审批人",
          (), ("OA系统无法访问", "OA账号锁定")),
    Query("笔记本电池鼓包", "电池把后盖顶起来了",
          (), ("电脑蓝屏",)),
    Query("键盘按键失灵", "有几个键按了没反应",
          (), ()),
    Query("ERP系统宕机", "全部门ERP都打不开",
          (), ("CRM系统无法登录", "OA系统无法访问")),
    Query("OA账号被锁", "",
          ("OA账号锁定",), ("CRM系统无法登录",)),
    Query("邮箱密码忘了怎么办", "",
          ("邮箱密码重置",), ()),
]

PAIRS: list[tuple[str, str, bool]] = [
    (q.subject, title, relevant) for q in QUERIES
    for titles, relevant in ((q.relevant, True), (q.not_relevant, False)) for title in titles
]
